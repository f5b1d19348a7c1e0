"""What the bot could not do: a guild's outbox calls that ended refused (the partner said no for
good) or failed (it gave up after its tries), in the streamer's words.

Each call carries its ``summary`` from when it was queued ("post Ana's slot call 'Gates of
Olympus' in Discord"); the partner's answer is the call's ``result``. Calls alike (the same
partner, kind of call, outcome and answer: a channel the bot may not post in refuses every
post) come as one line with how many times, so one broken setting never hides the others.
``!health`` shows the count and the newest few as one line, the dashboard's overview lists
them. A call whose
outcome is unknown (``uncertain``) is not here: a person settles those
(``core/features/payments/``). Calls are forgotten 30 days after they end
(:data:`core.outbox.worker.KEEP`); these lists look back :data:`WINDOW`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import utc
from core.health import Check, unread
from core.outbox.store import FAILED
from core.storage.tables import OUTBOX_UNDONE, outbox

WINDOW = timedelta(days=7)
LISTED = 20  # calls the overview lists, newest first
NAMED_IN_CHECK = 3  # calls the health line names
REASON_IN_CHECK = 120  # characters of a partner's answer in the health line
CHECK_NAME = "actions"

# The outbox's services, as a streamer names them (a service not here is shown as it is).
SERVICE_WORDS = {
    "discord": "Discord",
    "twitch-helix": "Twitch",
    "twitch-chat": "Twitch chat",
    "kick-chat": "Kick chat",
    "streamelements": "StreamElements",
}


@dataclass(frozen=True)
class Undone:
    """Calls alike that did not happen, ``times`` of them: ``partner`` and ``what`` (the
    newest's) in words, ``failed`` when the bot gave up (its ``answer`` then says after how
    many tries), else the partner or the bot refused it (``answer``: why); ``finished_at``:
    the newest's end."""

    id: int  # the newest's
    partner: str
    what: str
    failed: bool
    answer: str
    finished_at: datetime
    times: int = 1


@dataclass(frozen=True)
class UndoneList:
    total: int  # calls in the window; ``calls`` holds the newest of their groups
    calls: list[Undone]
    since: datetime
    groups: int = 0  # how many groups there are; ``calls`` holds at most ``limit`` of them


class UndoneCalls:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def recent(self, guild_id: int, limit: int = LISTED) -> UndoneList:
        """The guild's calls that ended refused or failed in the last :data:`WINDOW`, calls
        alike together, the groups newest first."""
        since = utc(self.clock()) - WINDOW
        o = outbox.c
        where = (o.guild_id == guild_id, sa.text(OUTBOX_UNDONE), o.finished_at >= since)
        alike = (o.service, o.kind, o.state, o.result)
        last = sa.func.max(o.finished_at)
        groups = (
            sa.select(
                *alike,
                sa.func.count().label("times"),
                sa.func.max(o.id).label("newest"),
                last.label("last"),
                sa.func.count().over().label("groups"),  # all of them, before the limit
            )
            .where(*where)
            .group_by(*alike)
            .order_by(last.desc(), sa.func.max(o.id).desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one()
            found = conn.execute(groups).all()
            summaries = dict(conn.execute(
                sa.select(o.id, o.summary)
                .where(o.guild_id == guild_id, o.id.in_([g.newest for g in found]))
            ).all())  # fmt: skip
        calls = [_undone(group, summaries[group.newest]) for group in found]
        groups_count = int(found[0].groups) if found else 0
        return UndoneList(int(total), calls, since, groups_count)

    def check(self, guild_id: int, *, listed_at: str | None = None) -> Check:
        """The health line: ok when every call of the window went through; degraded (a person
        has something to look at) when some did not, naming the newest few, or only counting
        them and saying where they are ``listed_at`` (a page that lists them itself)."""
        try:
            found = self.recent(guild_id, 1 if listed_at else NAMED_IN_CHECK)
        except Exception:
            return unread(CHECK_NAME)
        days = WINDOW.days
        if not found.total:
            return Check(CHECK_NAME, True, f"everything asked of a partner in {days} days was done")
        detail = f"{found.total} not done in the last {days} days"
        if listed_at:
            return Check(CHECK_NAME, True, f"{detail}: {listed_at}", degraded=True)
        detail += ": " + "; ".join(_in_a_line(call) for call in found.calls)
        more = found.total - len(found.calls)
        if more:
            detail += f"; and {more} more (the dashboard's overview lists them)"
        return Check(CHECK_NAME, True, detail, degraded=True)


def describe(service: str, kind: str, summary: str | None) -> tuple[str, str]:
    """(partner, what) of a call: its summary, or for a call queued without one its kind."""
    partner = SERVICE_WORDS.get(service, service)
    return partner, summary or f"a call of kind {kind}"


def _undone(group: sa.Row, summary: str | None) -> Undone:
    partner, what = describe(group.service, group.kind, summary)
    return Undone(
        group.newest,
        partner,
        what,
        group.state == FAILED,
        (group.result or "").strip() or "no reason given",
        utc(group.last),
        int(group.times),
    )


def _in_a_line(call: Undone) -> str:
    answer = call.answer
    if len(answer) > REASON_IN_CHECK:
        answer = answer[: REASON_IN_CHECK - 1].rstrip() + "…"
    when = call.finished_at.strftime("%b %d %H:%M UTC")
    if call.times > 1:
        when = f"{call.times:,} times, the last {when}"
    return f"{call.partner}: {call.what} ({when}: {answer})"
