"""PostgreSQL session timeouts (core/storage/timeouts.py): every connection of a process sets
them, a lock held elsewhere fails a statement fast, a transaction left idle is ended, and the
backend of a killed client stops its statement (and frees its locks) within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.config import load_settings
from core.features.schema import migrate
from core.storage.db import _MIGRATION_LOCK_ID, create_engine
from core.storage.timeouts import SessionTimeouts

ROOT = Path(__file__).resolve().parents[2]
BOUND_SECONDS = 30  # far above every timeout set here: a hang, not a measurement


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {BOUND_SECONDS} s: {what}")


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    from tests.conftest import migrated_postgres_url

    return migrated_postgres_url(request)


@pytest.fixture
def plain(postgres_url: str) -> Iterator[sa.Engine]:
    """An engine without our timeouts: the other party holding locks."""
    engine = create_engine(postgres_url)
    yield engine
    engine.dispose()


def engine_with(url: str, timeouts: SessionTimeouts) -> sa.Engine:
    return create_engine(url, timeouts)


def backend_alive(engine: sa.Engine, pid: int) -> bool:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        return bool(conn.execute(query, {"pid": pid}).scalar_one())


def test_the_settings_reach_every_session(postgres_url: str) -> None:
    timeouts = SessionTimeouts(
        lock_ms=1500, statement_ms=45_000, idle_in_transaction_ms=20_000, connection_check_ms=2000
    )
    engine = engine_with(postgres_url, timeouts)
    try:
        # Two connections at once: each new one sets them, not only the first.
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                shown = {
                    name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                    for name in (
                        "lock_timeout",
                        "statement_timeout",
                        "idle_in_transaction_session_timeout",
                        "client_connection_check_interval",
                    )
                }
                assert shown == {
                    "lock_timeout": "1500ms",
                    "statement_timeout": "45s",
                    "idle_in_transaction_session_timeout": "20s",
                    "client_connection_check_interval": "2s",
                }
            # A rollback (the pool's reset) keeps them: they are the session's.
            first.rollback()
            assert first.exec_driver_sql("SHOW lock_timeout").scalar_one() == "1500ms"
    finally:
        engine.dispose()


def test_an_engine_without_timeouts_keeps_the_servers_defaults(plain: sa.Engine) -> None:
    with plain.connect() as conn:
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar_one() == "0"


def test_servers_before_14_get_no_connection_check() -> None:
    timeouts = SessionTimeouts()
    assert "client_connection_check_interval" not in timeouts.parameters(130011)
    assert timeouts.parameters(140000)["client_connection_check_interval"] == "2000"
    assert timeouts.parameters(160002)["lock_timeout"] == "5000"


def test_settings_are_read_from_the_environment_with_defaults() -> None:
    defaults = load_settings({}, env_file=None).database.timeouts
    assert defaults == SessionTimeouts(5000, 60_000, 30_000, 2000)
    given = load_settings(
        {
            "DATABASE_LOCK_TIMEOUT_MS": "250",
            "DATABASE_STATEMENT_TIMEOUT_MS": "0",
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS": "1000",
            "DATABASE_CONNECTION_CHECK_MS": "500",
        },
        env_file=None,
    ).database.timeouts
    assert given == SessionTimeouts(250, 0, 1000, 500)


def test_sqlite_ignores_them(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", SessionTimeouts())
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_lock_held_elsewhere_fails_the_statement_fast(
    postgres_url: str, plain: sa.Engine
) -> None:
    engine = engine_with(postgres_url, SessionTimeouts(lock_ms=200))
    try:
        with plain.begin() as holder:
            holder.exec_driver_sql("CREATE TABLE held (id int PRIMARY KEY)")
        with plain.begin() as holder:
            holder.exec_driver_sql("INSERT INTO held VALUES (1)")
        with plain.begin() as holder:
            holder.exec_driver_sql("SELECT * FROM held WHERE id = 1 FOR UPDATE")
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"), engine.begin() as c:
                c.exec_driver_sql("UPDATE held SET id = 1 WHERE id = 1")
    finally:
        engine.dispose()


def test_a_transaction_left_idle_is_ended(postgres_url: str, plain: sa.Engine) -> None:
    engine = engine_with(postgres_url, SessionTimeouts(idle_in_transaction_ms=300))
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            wait_until(lambda: not backend_alive(plain, pid), "the idle transaction is ended")
            with pytest.raises(sa.exc.DBAPIError, match="idle-in-transaction timeout"):
                conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()


def test_migrations_wait_for_another_migrating_process(postgres_url: str, plain: sa.Engine) -> None:
    """The migration lock may be held longer than the lock timeout: migrate waits for it."""
    engine = engine_with(postgres_url, SessionTimeouts(lock_ms=100))
    taken, release = threading.Event(), threading.Event()

    def migrating_elsewhere() -> None:
        with plain.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            taken.set()
            release.wait(BOUND_SECONDS)

    other = threading.Thread(target=migrating_elsewhere)
    other.start()
    try:
        assert taken.wait(BOUND_SECONDS)
        threading.Timer(0.5, release.set).start()  # let go after five lock timeouts
        migrate(engine)  # raises LockNotAvailable if the lock timeout applied
    finally:
        release.set()
        other.join()
        engine.dispose()


_HOLDER = """
import sys, sqlalchemy as sa
from core.storage.db import _MIGRATION_LOCK_ID, create_engine
from core.storage.timeouts import SessionTimeouts
engine = create_engine(sys.argv[1], SessionTimeouts(connection_check_ms=200))
with engine.begin() as conn:
    conn.exec_driver_sql("UPDATE held SET id = id")
    print(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one(), flush=True)
    conn.exec_driver_sql("SELECT pg_sleep(600)")
"""


def test_a_killed_clients_running_statement_ends_and_frees_its_locks(
    postgres_url: str, plain: sa.Engine
) -> None:
    """kill -9 of a process whose backend is busy in a statement (holding a row lock): the
    connection check ends that statement, where PostgreSQL alone would run it to its end."""
    with plain.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE held (id int PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO held VALUES (1)")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, postgres_url],
        stdout=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        assert holder.stdout is not None
        pid = int(holder.stdout.readline())

        def is_sleeping() -> bool:
            with plain.connect() as conn:
                query = sa.text("SELECT query FROM pg_stat_activity WHERE pid = :pid")
                return "pg_sleep" in (conn.execute(query, {"pid": pid}).scalar() or "")

        wait_until(is_sleeping, "the holder runs its slow statement")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=BOUND_SECONDS)
        wait_until(lambda: not backend_alive(plain, pid), "the killed client's backend ends")
        with plain.begin() as conn:  # the row lock is free: NOWAIT would raise otherwise
            conn.exec_driver_sql("SELECT * FROM held FOR UPDATE NOWAIT").all()
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=BOUND_SECONDS)
        if holder.stdout is not None:
            holder.stdout.close()
