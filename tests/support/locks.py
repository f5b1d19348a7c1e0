"""Seeing, on PostgreSQL, whether a call in another thread waits for a lock: from the server's
own view of its backends, never by timing."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

WAIT_LIMIT_SECONDS = 30.0  # only a broken run waits this long


def lock_waits(engine: Engine) -> int:
    """Backends of this database waiting for a row or table lock."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def waits_for_a_lock(caller: threading.Thread, engine: Engine) -> bool:
    """True once ``caller`` waits for a lock; False when it finishes without waiting."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while caller.is_alive() and not lock_waits(engine):
        assert time.monotonic() < deadline, "the call neither waited nor finished"
        threading.Event().wait(0.01)
    return caller.is_alive()
