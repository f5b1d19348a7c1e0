"""The PostgreSQL session timeouts every connection of a StreamKeeper process sets, so that no
transaction waits long on another's locks and a dead client's transaction ends within seconds.

Without them a process killed while its backend ran a statement kept that transaction, and its
row locks, for minutes: PostgreSQL notices a vanished client only when it next writes to it.
``client_connection_check_interval`` (PostgreSQL 14+) makes a running statement poll its socket,
so the backend of a killed process (whose kernel closed the socket) rolls back within the
interval; ``idle_in_transaction_session_timeout`` ends a transaction left open between
statements; ``lock_timeout`` fails a statement that waits too long for a lock (the watchtime
tick then retries, see ``core/features/watchtime/service.py``); ``statement_timeout`` bounds any
one statement. SQLite has none of these: its engine is left as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# The first server version with client_connection_check_interval (psycopg's server_version).
CONNECTION_CHECK_SINCE = 140000
LOCK_NOT_AVAILABLE = "55P03"  # the SQLSTATE of a lock timeout (and of NOWAIT)


@dataclass(frozen=True)
class SessionTimeouts:
    """Milliseconds each; 0 turns one off (PostgreSQL's own default)."""

    lock_ms: int = 5_000
    statement_ms: int = 60_000
    idle_in_transaction_ms: int = 30_000
    connection_check_ms: int = 2_000

    def parameters(self, server_version: int) -> dict[str, str]:
        """The ``SET`` parameters for a server of ``server_version`` (e.g. 150004): the
        connection check only where the server knows it."""
        wanted = {
            "lock_timeout": self.lock_ms,
            "statement_timeout": self.statement_ms,
            "idle_in_transaction_session_timeout": self.idle_in_transaction_ms,
        }
        if server_version >= CONNECTION_CHECK_SINCE:
            wanted["client_connection_check_interval"] = self.connection_check_ms
        return {name: str(value) for name, value in wanted.items()}


def install(engine: Engine, timeouts: SessionTimeouts) -> None:
    """Set ``timeouts`` on every new connection of ``engine`` (PostgreSQL; SQLite: nothing)."""
    if engine.dialect.name != "postgresql":
        return
    warned: list[bool] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        version = int(dbapi_connection.info.server_version)
        if version < CONNECTION_CHECK_SINCE and not warned:
            warned.append(True)
            log.info(
                "PostgreSQL %d.%d has no client_connection_check_interval (14 and later do): "
                "a killed process's running statement keeps its locks until it ends",
                version // 10000,
                version % 10000,
            )
        parameters = timeouts.parameters(version)
        calls = ", ".join("set_config(%s, %s, false)" for _ in parameters)
        values = [part for pair in parameters.items() for part in pair]
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SELECT {calls}", values)
        dbapi_connection.commit()  # session settings: they outlive this first transaction

    sa.event.listen(engine, "connect", on_connect)


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy error) is PostgreSQL's lock timeout (SQLSTATE 55P03)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE


def without_timeouts(conn: Connection) -> None:
    """For the rest of ``conn``'s transaction, wait as long as it takes (migrations: a schema
    change may wait behind another process's migration and run for minutes)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
