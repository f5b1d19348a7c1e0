import os
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.features.schema import all_tables
from core.storage import db
from core.storage.db import (
    create_engine,
    migrate,
    normalize_url,
    pending_migrations,
    sqlite_url,
)

metadata = all_tables()

VERSIONS = Path(__file__).parents[2] / "core" / "storage" / "migrations" / "versions"


def test_migrations_build_exactly_the_declared_tables(engine):
    # Server defaults are compared on PostgreSQL: on SQLite, alembic reads back an empty
    # string default ('') as differing from the declared "" (eight false alarms).
    compare_defaults = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_server_default": compare_defaults}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


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
        # Newest first, down to the first, one step per numbered file.
        count = len(list(VERSIONS.glob("0*.py")))
        assert pending_migrations(fresh) == [f"{n:04d}" for n in range(count, 0, -1)]
    finally:
        fresh.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_every_feature_table_is_keyed_by_guild():
    shared = {"guilds", "viewers", "bus_events", "webhook_receipts", "kick_subscriptions"}
    shared |= {"webhook_arrivals"}  # per broadcaster, like kick_subscriptions
    shared |= {"account_links"}  # a link is global to the Discord user
    shared |= {"twitch_revocations"}  # keyed by Twitch's subscription, like kick_subscriptions
    shared |= {"twitch_subscriptions"}  # per broadcaster, like kick_subscriptions
    shared |= {"leases"}  # the bot processes' share of the work: partitions of guilds, jobs
    shared |= {"web_sessions"}  # a dashboard sign-in belongs to the Discord user, like a link
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
