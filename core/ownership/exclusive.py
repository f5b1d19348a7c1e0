"""Work done by one holder at a time per name, across processes on PostgreSQL: the upkeep of one
Twitch channel's EventSub subscriptions (``core/features/connections/twitch/subscriptions.py``),
whether the upkeep loop, ``!twitch sync`` or the dashboard's Sync button started it.

In a process, a name is held by one task at a time (polled, so it works from any event loop: the
dashboard runs its calls on loops of their own). On PostgreSQL the name is also held by a
session advisory lock (``pg_try_advisory_lock``, its key a hash of the name, as the outbox's
claim locks in ``core/outbox/store.py``) on a connection kept for as long as the name is held,
outside any transaction: neither ``idle_in_transaction_session_timeout`` nor ``lock_timeout``
(``core/storage/timeouts.py``) ends it however long the partner's calls take, and PostgreSQL lets
it go with the session when the holder's process is killed. The connection goes back to the pool
unlocked, or is discarded. (A row lock, ``FOR UPDATE`` on the connection row, would need a
transaction left open across those calls, ended by that timeout, and would hold up the
streamer's token refresh, which writes the same row.)

SQLite has no such lock, and holding its one writer lock across a partner's calls would stop
every other write: there the name is held within the process only, which is the whole bot when
one process runs it; what two processes may still do side by side must be safe on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # how often a waiter looks again whether the name is free


def lock_key(name: str) -> int:
    """The advisory lock key of ``name``: 63 bits of a hash, the same in every process."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big") >> 1


class Exclusive:
    """Names held one holder at a time (see the module's docstring)."""

    def __init__(self, engine: Engine, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._mutex = threading.Lock()
        self._held: set[str] = set()

    @contextlib.asynccontextmanager
    async def held(self, name: str) -> AsyncIterator[None]:
        """Hold ``name`` for the block, waiting for the holder before (in any process on
        PostgreSQL, in this one on SQLite)."""
        # Polled: an asyncio.Event belongs to one loop, and holders run on several.
        while not self._take_here(name):  # noqa: ASYNC110
            await asyncio.sleep(self.poll_seconds)
        try:
            conn = await self._take_everywhere(name)
            try:
                yield
            finally:
                if conn is not None:
                    await asyncio.to_thread(_give_back, conn, name)
        finally:
            with self._mutex:
                self._held.discard(name)

    def _take_here(self, name: str) -> bool:
        with self._mutex:
            if name in self._held:
                return False
            self._held.add(name)
            return True

    async def _take_everywhere(self, name: str) -> Connection | None:
        """The connection whose session holds ``name``'s advisory lock; None on SQLite."""
        if self.engine.dialect.name != "postgresql":
            return None
        conn = await asyncio.to_thread(self.engine.connect)
        try:
            # Polled: the holder is another process, which no asyncio.Event reaches.
            while not await asyncio.to_thread(_try_lock, conn, name):  # noqa: ASYNC110
                await asyncio.sleep(self.poll_seconds)
        except BaseException:
            # Cancelled or failed while asking: whether the lock was taken is not known, so
            # the session goes (and any lock with it) rather than back to the pool.
            await asyncio.to_thread(_drop, conn)
            raise
        return conn


def _try_lock(conn: Connection, name: str) -> bool:
    taken = conn.execute(sa.select(sa.func.pg_try_advisory_lock(lock_key(name)))).scalar_one()
    conn.commit()  # the session keeps the lock; no transaction stays open
    return bool(taken)


def _give_back(conn: Connection, name: str) -> None:
    """Unlock and return the connection to the pool; one that cannot unlock is dropped, and
    its session, ending, lets the lock go."""
    try:
        conn.execute(sa.select(sa.func.pg_advisory_unlock(lock_key(name))))
        conn.commit()
    except Exception as exc:
        log.warning("could not give back the lock %r (%s); its connection is dropped", name, exc)
        _drop(conn)
        return
    conn.close()


def _drop(conn: Connection) -> None:
    with contextlib.suppress(Exception):
        conn.invalidate()
    conn.close()


__all__ = ["POLL_SECONDS", "Exclusive", "lock_key"]
