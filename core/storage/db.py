"""The database engine, transactions and migrations.

SQLAlchemy Core on SQLite (the embedded default, a file under ``data/`` in WAL mode) or
PostgreSQL. A new database is built from the declared tables; the same Alembic migrations carry
an existing one forward on both.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core.storage import timeouts as session_timeouts
from core.storage.driver_statement import DriverStatement
from core.storage.timeouts import SessionTimeouts

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_ID = 0x5354524B


class DatabaseUnavailable(Exception):
    """The database could not be reached; the message says which and why, without secrets."""


def normalize_url(url: str) -> str:
    """Accept the URL forms hosts hand out (``postgres://``) and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'streamkeeper.sqlite3'}"


def create_engine(url: str, timeouts: SessionTimeouts | None = None) -> Engine:
    """The engine for ``url``; on PostgreSQL every connection sets ``timeouts`` (none: the
    server's own, as tools and tests that hold locks on purpose want)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            _make_private(Path(database))
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        sa.event.listen(engine, "connect", _configure_sqlite)
        _SQLiteWriter().install(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    sa.event.listen(engine, "connect", _plan_without_jit)
    if timeouts is not None:
        session_timeouts.install(engine, timeouts)
    return engine


def _plan_without_jit(dbapi_connection: Any, _record: Any) -> None:
    """Turn PostgreSQL's JIT off for the session. It compiles any statement whose estimated
    cost is high, and our set-based statements look costly to the planner (a batch of guilds
    comes as one JSON array it guesses at 100 rows, each a million more): compiling took
    ~0.55 s of a 100,000-viewer conversion (2.5 s with it, 1.9 s without) and of every raffle
    close, whatever it had to convert. Our statements read and write rows; JIT speeds up
    neither."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', 'off', false)")
    dbapi_connection.commit()  # a session setting: it outlives this first transaction


BUSY_TIMEOUT_SECONDS = 30
# Every SQLite transaction starts with it, so it runs on the driver's cursor: through
# ``exec_driver_sql`` it was about 0.15 ms of a webhook's 0.7
# (`python -m benchmarks --only embedded`).
_BEGIN_IMMEDIATE = DriverStatement(sa.text("BEGIN IMMEDIATE"))


class FairLock:
    """A lock handed to its waiters in the order they came (``threading.Lock`` lets a newcomer,
    or the thread that just released it, take it before a thread that has waited long)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return True  # handed over just as the wait timed out: ours after all
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays held: now by the longest waiter
            else:
                self._held = False


class _SQLiteWriter:
    """One writer at a time inside the process, queued on a lock instead of SQLite's busy handler.

    pysqlite's own transaction handling defers BEGIN; we take it over so that every transaction
    starts with BEGIN IMMEDIATE and never deadlocks on a lock upgrade. SQLite has one writer
    lock per database; a second BEGIN IMMEDIATE finds it taken and its busy handler *sleeps*
    (1, 2, 5, 10 ... 100 ms steps) and polls again, so under load a waiter oversleeps the
    holder by tens of milliseconds and may lose to a newcomer again and again: the web side's
    webhooks and the dispatcher starved each other (p99 683 ms, 21 events/s handled).

    Threads of this process therefore queue on a first-come-first-served lock taken just before
    BEGIN IMMEDIATE and released at COMMIT or ROLLBACK: the lock is handed to the longest
    waiter the instant it is free, so the dispatcher's one thread is not outrun by the web
    side's (with group commit the web side has one thread in this queue at a time). Other
    processes on the same file (``web`` + ``bot``) still meet at SQLite's lock and busy timeout.
    A thread that waits longer than the busy timeout goes on without the lock and lets SQLite
    decide (it then fails as before rather than waiting forever).
    """

    _KEY = "sk_writer_lock"

    def __init__(self) -> None:
        self.lock = FairLock()

    def install(self, engine: Engine) -> None:
        sa.event.listen(engine, "begin", self.begin)
        sa.event.listen(engine, "commit", self.end)
        sa.event.listen(engine, "rollback", self.end)
        # A connection given back to the pool mid-transaction (invalidated) lets go as well.
        sa.event.listen(engine, "checkin", self.checked_in)

    def begin(self, conn: Connection) -> None:
        held = self.lock.acquire(timeout=BUSY_TIMEOUT_SECONDS)
        conn.info[self._KEY] = held
        try:
            _BEGIN_IMMEDIATE.first(conn, {})
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Connection) -> None:
        if conn.info.pop(self._KEY, False):
            self.lock.release()

    def checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(self._KEY, False):
            self.lock.release()


def _make_private(database: Path) -> None:
    """Create the SQLite file readable by its owner alone (0600), in a new folder only the owner
    may enter (0700): it holds encrypted tokens, links and every viewer's history.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so they follow.
    An existing database with looser modes is tightened; an existing folder is left alone (it
    may be the working directory or a home).
    """
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except OSError as exc:
            log.warning("could not make %s readable by its owner only: %s", path, exc)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def describe(engine: Engine) -> str:
    """The engine's URL with any password hidden, for logs and health output."""
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with engine.begin() as conn:
        yield conn


def ping(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` unless the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(f"Could not connect to the database ({reason}).") from exc


def _alembic_config(conn: Connection | None, *, legacy: bool = False) -> Config:
    """The migrations' configuration; ``legacy``: the 32 steps that built the baseline."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if legacy:
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(MIGRATIONS_DIR / "legacy"))
    config.attributes["connection"] = conn
    return config


# The baseline is where the 32 first migrations (``migrations/legacy/``, 0001 to 0032, as
# they were written) ended: a database they wrote is brought to it by them, then onwards.
BASELINE = "0032"


class SchemaNotUpgradable(DatabaseUnavailable):
    """The database answers, but this version cannot bring its schema up to date: it predates
    the baseline this version upgrades from, is newer than this version, or is not ours."""


@functools.cache
def _legacy_revisions() -> frozenset[str]:
    """The revisions of the first migrations, before the baseline (0001 to 0031)."""
    script = ScriptDirectory.from_config(_alembic_config(None, legacy=True))
    return frozenset(rev.revision for rev in script.walk_revisions()) - {BASELINE}


@functools.cache
def _script() -> tuple[frozenset[str], frozenset[str]]:
    """The migrations' revisions and the newest of them, read from their files once per process:
    the dashboard's overview runs the health check at each view, and reading every file took
    most of its time (issue 27). The files do not change under a running process."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    revisions = frozenset(rev.revision for rev in script.walk_revisions())
    return revisions, frozenset(script.get_heads())


def migrate(engine: Engine, schema: sa.MetaData) -> None:
    """Bring the database to the newest schema, ``schema`` (every declared table). Safe to run
    again and from several processes; an up-to-date database costs one query (every process
    migrates at start; the files are read once per process).

    A new, empty database is built from ``schema`` and marked as at the newest migration;
    migrations only carry an existing database forward (Alembic's "building an up to date
    database from scratch"). Raises :class:`SchemaNotUpgradable`, changing nothing, for a
    database it cannot upgrade: older than the baseline, newer than this version, or not ours."""
    ping(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Another process may be migrating: wait for it, and let a long step run.
            session_timeouts.without_timeouts(conn)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        current = set(MigrationContext.configure(conn).get_current_heads())
        revisions, heads = _script()
        if current == heads:
            return
        config = _alembic_config(conn)
        if not current and not sa.inspect(conn).get_table_names():
            schema.create_all(conn)
            command.stamp(config, "head")
            return
        if current and current <= _legacy_revisions():
            # Written before the baseline: its own migrations bring it there, in the same
            # transaction as the rest, so a failure leaves it as it was.
            command.upgrade(_alembic_config(conn, legacy=True), BASELINE)
            current = {BASELINE}
        _refuse_unknown(current, revisions)
        command.upgrade(config, "head")


def _refuse_unknown(current: set[str], revisions: frozenset[str]) -> None:
    if not current:
        raise SchemaNotUpgradable(
            "The database has tables but no record of its migrations: point DATABASE_URL at "
            "StreamKeeper's own database, or at a new empty one."
        )
    unknown = sorted(current - revisions)
    if unknown and unknown[-1] > max(revisions):
        raise SchemaNotUpgradable(
            f"The database's schema is at migration {', '.join(unknown)}, newer than this "
            f"version knows (its newest is {max(revisions)}): run the StreamKeeper that "
            "migrated it, or a newer one."
        )
    if unknown:
        raise SchemaNotUpgradable(
            f"The database's schema is at migration {', '.join(unknown)}, which no version of "
            "StreamKeeper wrote: point DATABASE_URL at StreamKeeper's own database."
        )


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions the database has not had yet (empty when it is up to date); raises
    :class:`SchemaNotUpgradable` for a database this version cannot upgrade."""
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        revisions, heads = _script()
        if current == heads:
            return []
        before: list[str] = []
        if current and current <= _legacy_revisions():
            legacy = ScriptDirectory.from_config(_alembic_config(conn, legacy=True))
            before = [rev.revision for rev in legacy.iterate_revisions(BASELINE, current)]
            current = {BASELINE}
        elif current:
            _refuse_unknown(current, revisions)
        script = ScriptDirectory.from_config(_alembic_config(conn))
        pending = [rev.revision for rev in script.iterate_revisions(heads, current or "base")]
        return pending + before


def insert_if_absent(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert one row unless its key exists; True when this call inserted it.

    Uses RETURNING rather than ``rowcount``, which psycopg 3 does not report for an INSERT.
    """
    key = next(iter(table.primary_key.columns))
    stmt = insert_for(conn, table).values(values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None


def insert_for(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table)
