"""Claims that last as long as the process that made them: an outbox call being made, a VIP
redemption being asked of Twitch.

A claim is stamped with the claiming process's name, the one its heartbeat lease carries
(``process:<name>`` in ``leases``, renewed every 2 s for 6 s by ``core/ownership/share.py``). It
is free once that lease has ended: a process killed with ``kill -9`` lets its claims go at the
next heartbeat of another (which sees its life lock gone, :mod:`core.ownership.lifeline`, and
ends its leases), or within the lease's 6 s where there is no life line, while a living process
keeps its claim however long its call hangs. One fixed bound stays, :data:`SAFETY_NET`, renewed
when a call starts: it frees the claim of a process that still beats but whose worker is stuck
(a thread that never returns), and it is the only bound for a process whose name has no lease
row at all (a tool or a test that runs a worker by itself, which passes its own fixed time
instead).

A process that stops cleanly deletes its lease row last, once its workers gave their claims
back (``core/outbox/worker.py``; the scheduler waits for them, ``Ownership.run``'s
``finished``), so "no row" is never taken for "dead": a name without a row is one that never
beat, and its claims keep their fixed time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from core.storage.tables import leases

PROCESS = "process:"  # the heartbeat lease's name is this and the process's name
HOLDER_LENGTH = 64  # what ``Leases`` keeps of a process's name, and what a claim column holds
# The longest a claim lasts from its last renewal whatever its process's heartbeat says. Far
# above any call's own timeout (60 s at most), so a living, working process never meets it.
SAFETY_NET = timedelta(minutes=10)


def process_lease(name: str) -> str:
    """The name of the heartbeat lease of the process called ``name``."""
    return PROCESS + name


def holder_is_dead(holder: ColumnElement[str], now: datetime) -> ColumnElement[bool]:
    """True where the process named in ``holder`` beat once and its lease has run out by
    ``now`` (the wall clock: leases are written by other processes' clocks)."""
    return sa.exists().where(
        leases.c.name == sa.literal(PROCESS) + holder,
        leases.c.expires_at <= now,
    )


def is_free(
    holder: ColumnElement[str], until: ColumnElement[datetime], now: datetime, alive_at: datetime
) -> ColumnElement[bool]:
    """Whether a claim (``holder``, held ``until``) may be taken at ``now``: nobody holds it,
    its time ran out, or its process is dead at ``alive_at`` (the wall clock)."""
    return sa.or_(until.is_(None), until <= now, holder_is_dead(holder, alive_at))
