"""The health line of the calls to partners (Discord, Twitch, Kick chat, StreamElements): ok
while every due call is made in time; ``degraded`` when one waits well past its time, which
means no bot process makes that service's calls or the partner stopped answering. For the
operator (``/health``, ``python -m core health``): it counts every server's calls.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.health import Check, unread, waited
from core.outbox import store
from core.outbox.undone import SERVICE_WORDS

CHECK_NAME = "outbox"
# A call is made within seconds of its time, or put off to a later one (a retry, a rate limit).
OVERDUE_AFTER = timedelta(minutes=10)


def overdue_check(engine: Engine, services: Collection[str], now: datetime) -> Check:
    try:
        with engine.connect() as conn:
            overdue = store.overdue_by_service(conn, services, now)
    except Exception:
        return unread(CHECK_NAME)
    late = sorted(
        ((seconds, service) for service, seconds in overdue.items()
         if seconds >= OVERDUE_AFTER.total_seconds()),
        reverse=True,
    )  # fmt: skip
    if not late:
        return Check(CHECK_NAME, True, "no call to a partner is overdue")
    partners = [SERVICE_WORDS.get(service, service) for _, service in late]
    waits = ", ".join(
        f"calls to {partner} wait {waited(timedelta(seconds=seconds))}"
        for partner, (seconds, _) in zip(partners, late, strict=True)
    )
    who = partners[0] if len(partners) == 1 else "the partner"
    return Check(
        CHECK_NAME,
        True,
        f"{waits} past their time: no bot process makes them or {who} does not answer (the "
        "bot's log says which)",
        degraded=True,
    )
