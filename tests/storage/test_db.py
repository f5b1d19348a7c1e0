import atexit
import functools
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.schema import CreateIndex

from core.features.schema import all_tables, migrate
from core.storage import db
from core.storage.db import (
    SchemaNotUpgradable,
    create_engine,
    normalize_url,
    pending_migrations,
    sqlite_url,
)

metadata = all_tables()

BASELINE = Path(__file__).with_name("baseline")
VERSIONS = Path(__file__).parents[2] / "core" / "storage" / "migrations" / "versions"


def _differences(engine: sa.Engine) -> list:  # type: ignore[type-arg]
    # Server defaults are compared on PostgreSQL: on SQLite, alembic reads back an empty
    # string default ('') as differing from the declared "" (eight false alarms).
    compare_defaults = engine.dialect.name == "postgresql"
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite's indexes on an expression (lower(username)) are not read back: compared
        # below by their text instead.
        warnings.filterwarnings("ignore", _UNREFLECTED, sa.exc.SAWarning)
        warnings.filterwarnings("ignore", _UNCOMPARED, UserWarning)
        context = MigrationContext.configure(
            conn, opts={"compare_server_default": compare_defaults}
        )
        found = compare_metadata(context, metadata)
        if engine.dialect.name == "sqlite":
            found += _sqlite_expression_index_differences(conn)
        return found


_UNREFLECTED = "Skipped unsupported reflection of expression-based index"
_UNCOMPARED = "autogenerate skipping metadata-specified expression-based index"


def _sqlite_expression_index_differences(conn: sa.Connection) -> list[tuple[str, str]]:
    """The declared indexes on an expression that the database lacks or holds otherwise, and
    those it holds that none declares: SQLite keeps each as the text that created it."""
    declared = {
        index.name: " ".join(str(CreateIndex(index).compile(conn)).split())
        for table in metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(part, sa.Column) for part in index.expressions)
    }
    every = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).all()
    held = {
        name: " ".join(sql.split())
        for name, sql in every
        # a part without a column's name: an expression
        if any(part[2] is None for part in conn.exec_driver_sql(f"PRAGMA index_info('{name}')"))
    }
    differences = [("add_index", name) for name in declared if held.get(name) != declared[name]]
    differences += [("remove_index", name) for name in held if name not in declared]
    return differences


def _load_baseline(engine: sa.Engine) -> None:
    """The database as the squash found it: the 0032 schema, recorded as at 0032."""
    sql = (BASELINE / f"0032.{engine.dialect.name}.sql").read_text()
    statements = [part for part in sql.split(";\n") if part.strip(" \n-")]
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    _record_revision(engine, "0032")


def _record_revision(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})


def test_a_new_database_is_built_with_exactly_the_declared_tables(engine):
    assert _differences(engine) == []


def test_migrations_bring_a_baseline_database_to_exactly_the_declared_tables(database_url):
    """The check that catches a table changed without a migration: a database made before the
    squash (0032) migrated to the newest revision must hold what the tables declare."""
    engine = create_engine(database_url)
    try:
        _load_baseline(engine)
        migrate(engine)
        assert pending_migrations(engine) == []
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_declared_column_without_a_migration_fails_the_baseline_check(database_url):
    """The check above can fail: a column the tables declare and no migration adds is found."""
    engine = create_engine(database_url)
    try:
        _load_baseline(engine)
        migrate(engine)  # the migrations since the baseline add what they add
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE guilds DROP COLUMN created_at")
        assert [d[0] for d in _differences(engine)] == ["add_column"]
    finally:
        engine.dispose()


def test_an_index_on_an_expression_without_a_migration_fails_the_baseline_check(database_url):
    """An index on lower(username) the tables declare and the database lacks, or holds on
    another expression, is found on both databases (SQLite does not read them back)."""
    engine = create_engine(database_url)
    try:
        _load_baseline(engine)
        migrate(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_viewers_platform_lower_username")
        assert [d[0] for d in _differences(engine)] == ["add_index"]
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE INDEX ix_viewers_platform_lower_username "
                "ON viewers (platform, upper(username))"
            )
        assert "add_index" in [d[0] for d in _differences(engine)]
    finally:
        engine.dispose()


LEGACY = sorted(path.name[:4] for path in (VERSIONS.parent / "legacy").glob("0*.py"))[:-1]
# PostgreSQL takes longer per schema: the first, the one a release before last wrote, the last.
ON_POSTGRES = ("0001", "0019", "0031")


def _written_at(engine: sa.Engine, revision: str) -> None:
    """A database as the StreamKeeper of schema ``revision`` left it: built by the migrations
    of that time (``migrations/legacy/``), with a viewer's watchtime in it. On SQLite, a copy
    of :func:`_legacy_sqlite`'s file."""
    if engine.dialect.name == "sqlite" and revision in LEGACY:
        engine.dispose()
        shutil.copyfile(_legacy_sqlite(revision), engine.url.database)
    else:
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn, legacy=True), revision)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds) "
                "VALUES (42, 'kick', '4242', 3600)"
            )
        )


@functools.cache
def _legacy_sqlite(revision: str) -> Path:
    """A SQLite file at legacy schema ``revision``, made once per process from the one of the
    revision before (so the 31 schemas cost 31 migrations, not 31 chains of them)."""
    folder = Path(tempfile.mkdtemp(prefix="streamkeeper-legacy-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / f"{revision}.sqlite3"
    earlier = [r for r in LEGACY if r < revision]
    if earlier:
        shutil.copyfile(_legacy_sqlite(earlier[-1]), path)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn, legacy=True), revision)
    finally:
        engine.dispose()
    return path


@pytest.mark.parametrize("revision", LEGACY)
def test_a_database_of_every_earlier_schema_is_brought_up_in_one_command(database_url, revision):
    """``migrate`` brings a database StreamKeeper wrote at any schema since the first to
    exactly the declared tables, keeping its data."""
    engine = create_engine(database_url)
    try:
        if engine.dialect.name == "postgresql" and revision not in ON_POSTGRES:
            pytest.skip("every schema runs on SQLite; three on PostgreSQL")
        _written_at(engine, revision)
        assert pending_migrations(engine)[-1] == f"{int(revision) + 1:04d}"
        migrate(engine)
        assert pending_migrations(engine) == []
        assert _differences(engine) == []
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT seconds FROM watchtime WHERE guild_id = 42"))
            assert kept.scalar_one() == 3600
    finally:
        engine.dispose()


def test_a_migration_that_fails_leaves_an_old_database_as_it_was(database_url):
    engine = create_engine(database_url)
    try:
        _written_at(engine, "0019")
        with engine.begin() as conn:  # in the way of migration 0021, which creates it
            tables_before = sorted(sa.inspect(conn).get_table_names())
            conn.exec_driver_sql("CREATE TABLE outbox (id INTEGER PRIMARY KEY)")
        with pytest.raises(sa.exc.SQLAlchemyError):
            migrate(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                ("0019",)
            ]
            assert sorted(sa.inspect(conn).get_table_names()) == sorted([*tables_before, "outbox"])
    finally:
        engine.dispose()


def test_a_database_newer_than_this_version_is_refused_and_left_alone(database_url):
    engine = create_engine(database_url)
    try:
        _record_revision(engine, "0999")
        with pytest.raises(SchemaNotUpgradable) as refused:
            migrate(engine)
        assert "at migration 0999, newer than this version knows" in str(refused.value)
        assert "git checkout" not in str(refused.value)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                ("0999",)
            ]
    finally:
        engine.dispose()


def test_a_database_with_tables_but_no_migration_record_is_left_alone(database_url):
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)")
        with pytest.raises(SchemaNotUpgradable, match="no record of its migrations"):
            migrate(engine)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == ["someone_elses"]
    finally:
        engine.dispose()


def test_migrate_twice_is_harmless(engine):
    migrate(engine)
    assert pending_migrations(engine) == []


def test_an_up_to_date_database_is_told_without_reading_the_migration_files_again(
    engine, monkeypatch
):
    """The dashboard's overview asks at each view (issue 27): the files are read once."""
    assert pending_migrations(engine) == []

    def read_again(config):  # type: ignore[no-untyped-def]
        raise AssertionError("the migration files were read again")

    monkeypatch.setattr(db.ScriptDirectory, "from_config", read_again)
    assert pending_migrations(engine) == []


def test_migrating_an_up_to_date_database_reads_no_migration_file(engine, monkeypatch):
    """Every process migrates at start: on an up-to-date database that is one query."""
    migrate(engine)

    def read_again(config):  # type: ignore[no-untyped-def]
        raise AssertionError("the migration files were read again")

    monkeypatch.setattr(db.ScriptDirectory, "from_config", read_again)
    migrate(engine)
    assert pending_migrations(engine) == []


def test_fresh_database_reports_pending_migrations(database_url):
    fresh = create_engine(database_url)
    try:
        # Newest first, down to the baseline, one step per numbered file.
        numbers = sorted((path.name[:4] for path in VERSIONS.glob("0*.py")), reverse=True)
        assert numbers[-1] == "0032"
        assert pending_migrations(fresh) == numbers
    finally:
        fresh.dispose()


def test_postgresql_sessions_run_without_jit(postgres_engine):
    # Two connections at once: each new one sets it, and the pool's rollback keeps it.
    with postgres_engine.connect() as first, postgres_engine.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        first.rollback()
        assert first.exec_driver_sql("SHOW jit").scalar() == "off"


def test_sqlite_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_every_feature_table_is_keyed_by_guild():
    shared = {"guilds", "viewers", "bus_events", "webhook_receipts", "kick_subscriptions"}
    shared |= {"webhook_arrivals", "event_arrivals"}  # per broadcaster, like kick_subscriptions
    shared |= {"kick_public_keys"}  # Kick's one webhook key, the same for every guild
    shared |= {"account_links"}  # a link is global to the Discord user
    shared |= {"twitch_revocations"}  # keyed by Twitch's subscription, like kick_subscriptions
    shared |= {"twitch_subscriptions"}  # per broadcaster, like kick_subscriptions
    shared |= {"leases"}  # the bot processes' share of the work: partitions of guilds, jobs
    shared |= {"web_sessions"}  # a dashboard sign-in belongs to the Discord user, like a link
    shared |= {"privacy_forgets_to_finish"}  # a forget is of a person, in every guild
    for table in metadata.sorted_tables:
        if table.name not in shared:
            assert "guild_id" in table.c, table.name


def test_hosted_postgres_urls_are_accepted():
    assert normalize_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_datetimes_come_back_as_utc(engine):
    from datetime import datetime, timedelta, timezone

    from core.features.guilds.tables import guilds

    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as conn:
        conn.execute(sa.insert(guilds).values(guild_id=1, created_at=moment))
        stored = conn.execute(sa.select(guilds.c.created_at)).scalar_one()
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_sqlite_files_are_private_to_their_owner(tmp_path):
    data_dir = tmp_path / "data"
    url = sqlite_url(data_dir)
    database = data_dir / "streamkeeper.sqlite3"
    previous = os.umask(0o022)  # a usual umask: without care, files come out world-readable
    try:
        engine = create_engine(url)
        try:
            migrate(engine)
            with engine.connect() as conn:  # WAL: the -wal and -shm files exist while open
                conn.execute(sa.text("SELECT 1"))
                files = [
                    database,
                    *(database.with_name(database.name + s) for s in ("-wal", "-shm")),
                ]
                assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        finally:
            engine.dispose()
    finally:
        os.umask(previous)
    assert _mode(data_dir) == 0o700


def test_an_existing_world_readable_sqlite_file_is_tightened(tmp_path):
    database = tmp_path / "streamkeeper.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    create_engine(f"sqlite:///{database}").dispose()
    assert _mode(database) == 0o600
