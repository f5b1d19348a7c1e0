"""A bot process's life line: how the others learn at once that it was killed.

Leases end a dead process's work after ``lease_seconds``, whatever killed it; that is the bound
for a process that hangs, or is cut off from the database. A process that is *killed* (``kill
-9``, the OOM killer, a crash) also loses its connections, and PostgreSQL ends their sessions at
once. So, on PostgreSQL, each bot process holds a session advisory lock of its own (its key: a
hash of its name) on one connection it keeps for its whole life, and says so with a lease
``life:<name>`` beside its ``process:<name>``. Each heartbeat of every process asks PostgreSQL
which of the processes with a ``life:`` lease no longer holds its lock: those are dead, and their
leases are ended on the spot, so their partitions, jobs and claims pass on at that heartbeat
instead of when the leases would have run out.

A living process is never taken for dead while its life connection is open. When that
connection breaks (PostgreSQL restarted), the others may end its leases before it notices; it
opens a new one at its next heartbeat and takes its share again, as after any takeover (every
guild's clock moves by compare-and-set, so no interval is credited twice meanwhile). A process
whose lock is taken by another session (two names hashing alike, or its own old session not
ended yet) runs without a life line: the others wait for its leases to run out, as before.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

NAMESPACE = 0x534B  # the first key of every life lock ("SK"); the second is the name's hash

_HELD = sa.text("""
SELECT objid::bigint FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid::bigint = :namespace
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
""")


def life_key(name: str) -> int:
    """The second key of the life lock of the process called ``name`` (0 to 2**32 - 1, as
    ``pg_locks`` shows it)."""
    return zlib.crc32(name.encode())


def _signed(key: int) -> int:
    """``key`` as the int4 that ``pg_try_advisory_lock(int, int)`` takes."""
    return key - 2**32 if key >= 2**31 else key


class LifeLine:
    """This process's life lock, and the question which other processes still hold theirs."""

    def __init__(self, engine: Engine, name: str) -> None:
        # A connection of its own, outside the pool: the pool may close or recycle its own.
        self._engine = sa.create_engine(engine.url, poolclass=NullPool)
        self.name = name
        self._conn: Connection | None = None

    def hold(self) -> bool:
        """Whether this process holds its life lock now, opening a new connection and taking
        it again when the last one broke."""
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.SQLAlchemyError:
                log.warning("this bot process's life line to the database broke; opening another")
                self._drop()
        try:
            conn = self._engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("this bot process could not open its life line: %s", exc)
            return False
        try:
            taken = (
                conn.execution_options(isolation_level="AUTOCOMMIT")
                .execute(
                    sa.text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                    {"namespace": NAMESPACE, "key": _signed(life_key(self.name))},
                )
                .scalar_one()
            )
        except sa.exc.SQLAlchemyError as exc:
            conn.close()
            log.warning("this bot process could not take its life lock: %s", exc)
            return False
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    def dead(self, names: Iterable[str]) -> set[str]:
        """Those of ``names`` (processes that said they hold a life lock) whose lock nobody
        holds: their sessions ended, so the processes did."""
        wanted = {name: life_key(name) for name in names if name != self.name}
        if not wanted:
            return set()
        with self._engine.connect() as conn:
            held = {key for (key,) in conn.execute(_HELD, {"namespace": NAMESPACE})}
        return {name for name, key in wanted.items() if key not in held}

    def close(self) -> None:
        """Let go of the lock (a process that stops cleanly gives its leases up as well): at
        once, by unlocking it, for PostgreSQL ends a closed session's locks only when its
        backend has exited, a moment later."""
        if self._conn is not None:
            try:
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:namespace, :key)"),
                    {"namespace": NAMESPACE, "key": _signed(life_key(self.name))},
                )
            except sa.exc.SQLAlchemyError:
                log.debug("unlocking a broken life line failed", exc_info=True)
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sa.exc.SQLAlchemyError:
                log.debug("closing a broken life line failed", exc_info=True)
            self._conn = None
