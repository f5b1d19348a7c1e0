"""Health checks shared by ``/health``, ``python -m core health`` and ``!health``.

Only the operator's shell (``python -m core health``) shows a failing check's detail: it names
hosts, ports and database errors (also in the log). A server's own view (``!health``, the
dashboard's overview) and the public ``/health`` say only that the check fails, in plain words
(:data:`FAILING_FOR_A_SERVER`; the one rule is :meth:`Check.for_a_server`).

A check is ok, failing (something StreamKeeper needs does not answer: ``/health`` answers 503
and ``python -m core health`` exits 1), or ok but ``degraded``: it works, and a person has
something to do (a streamer must connect again, a payment waits to be settled). A degraded
report is ``"status": "degraded"`` with 200 (a load balancer keeps the server), and its public
detail says only that the check needs attention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

T = TypeVar("T")

FAILING_FOR_A_SERVER = "does not work; the bot's operator sees why in 'python -m core health'"
UNREAD = "not checked: the database did not answer"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    degraded: bool = False  # ok, but a person has something to do (the detail says what)
    # The detail without what only the operator may read (a bot process's host name), for the
    # public ``/health`` and a server's own view; None when the detail holds nothing of that.
    public: str | None = None

    def for_a_server(self) -> Check:
        """This check as the public and a server's view show it: a failure in plain words
        (its detail is the operator's), else :attr:`public` when set."""
        if not self.ok:
            return replace(self, detail=FAILING_FOR_A_SERVER, public=None)
        return self if self.public is None else replace(self, detail=self.public, public=None)


@dataclass(frozen=True)
class HealthReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    @property
    def status(self) -> str:
        """``failing``, ``degraded`` or ``ok``."""
        if not self.ok:
            return "failing"
        return "degraded" if any(check.degraded for check in self.checks) else "ok"

    def as_json(self) -> dict[str, object]:
        """The public form: a failing check says only that it fails (:meth:`Check.for_a_server`),
        a degraded one ``"<name> needs attention"`` (its detail names servers)."""
        return {
            "status": self.status,
            "checks": {c.name: {"ok": c.ok, "detail": _public_detail(c)} for c in self.checks},
        }

    def lines(self) -> list[str]:
        return [f"{_mark(c)} {c.name}: {c.detail}" for c in self.checks]


def _public_detail(check: Check) -> str:
    if check.ok and check.degraded:
        return f"{check.name} needs attention"
    return check.for_a_server().detail


def _mark(check: Check) -> str:
    if not check.ok:
        return "FAIL"
    return "WARN" if check.degraded else "ok  "


def run_check(name: str, probe: Callable[[], str]) -> Check:
    """Run ``probe``; its return value is the detail, and any exception a failure."""
    try:
        return Check(name, True, probe())
    except Exception as exc:
        return Check(name, False, str(exc) or type(exc).__name__)


KICK_WEBHOOKS = "/webhooks/kick"
TWITCH_WEBHOOKS = "/webhooks/twitch"


def webhook_routes(*, twitch_secret_set: bool, base_url: str | None = None) -> str:
    """Where the platforms' webhooks are taken, for the startup line and ``!health``: Kick's
    always (its signing key is bundled), Twitch's once ``TWITCH_EVENTSUB_SECRET`` is set (it
    refuses every delivery before). ``base_url`` (a public address) makes them whole URLs."""
    base = (base_url or "").rstrip("/")
    kick = f"POST {base}{KICK_WEBHOOKS} (Kick)"
    if twitch_secret_set:
        return f"{kick}, POST {base}{TWITCH_WEBHOOKS} (Twitch)"
    return f"{kick}; {TWITCH_WEBHOOKS} (Twitch) is off until TWITCH_EVENTSUB_SECRET is set"


def webhooks_check(*, twitch_secret_set: bool, base_url: str | None = None) -> Check:
    """The webhook routes as a health line: information, never a failure (a server may follow
    Kick alone)."""
    return Check(
        "webhooks", True, webhook_routes(twitch_secret_set=twitch_secret_set, base_url=base_url)
    )


def waited(span: timedelta) -> str:
    """A wait of minutes or hours in words: "25 min", "3 h 5 min"."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def unless_down(read: Callable[[], T]) -> T | None:
    """``read()``, or None when the database (or Redis) did not answer: the process checks'
    own lines say so, and the rest of a server's report (``!health``, the dashboard's
    overview) is still worth reading."""
    from core.bus.base import is_outage

    try:
        return read()
    except Exception as exc:
        if not is_outage(exc):
            raise
        return None


def unread(name: str) -> Check:
    """A server's line that could not be read while the database does not answer: not known
    to work, so marked to look at rather than ok (the database's own line fails)."""
    return Check(name, True, UNREAD, degraded=True)
