"""The bus as a health line: whether it answers and, for the operator, how many events wait and
whether the oldest has waited so long that no bot process handles them.

A server's own view (``!health``, the dashboard's overview) gets no count: the bus holds every
server's events. A stuck backlog makes the line ``degraded``, not failing: the web side still
takes webhooks and queues them, so ``/health`` keeps answering 200 and the load balancer keeps
the server; the operator reads why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.bus.base import EventBus
from core.events import utc
from core.health import Check, waited

CHECK_NAME = "bus"
# Events are handled within seconds; one that waits this long waits for a bot process.
STUCK_AFTER = timedelta(minutes=10)


def bus_check(bus: EventBus, now: datetime, *, backlog: bool) -> Check:
    try:
        bus.ping()
        if not backlog:
            return Check(CHECK_NAME, True, f"{bus.name} bus answers")
        waiting = bus.backlog()
        oldest = bus.oldest_unhandled() if waiting else None
    except Exception as exc:
        return Check(CHECK_NAME, False, str(exc) or type(exc).__name__)
    detail = f"{bus.name} bus, {waiting} event(s) waiting"
    if oldest is None or utc(now) - utc(oldest) < STUCK_AFTER:
        return Check(CHECK_NAME, True, detail)
    return Check(
        CHECK_NAME,
        True,
        f"{detail}, the oldest for {waited(utc(now) - utc(oldest))}: no bot process handles "
        "them (is one running? its log says why)",
        degraded=True,
    )
