"""Migration 0058: account_links and viewers get their indexes by platform and lowercased name,
links and viewers are kept, and going back to 0057 drops the indexes only."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from core.storage import db
from core.storage.db import create_engine
from tests.storage.test_db import _load_baseline

AT = datetime(2026, 11, 28, tzinfo=UTC)
INDEXES = {"ix_account_links_platform_lower_username", "ix_viewers_platform_lower_username"}


def _name_indexes(conn: sa.Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {name for name in conn.exec_driver_sql(query).scalars() if name in INDEXES}


def _rows(conn: sa.Connection) -> list[tuple[str, ...]]:
    return [
        *conn.exec_driver_sql("SELECT platform, platform_user_id, username FROM account_links"),
        *conn.exec_driver_sql("SELECT platform, platform_user_id, username FROM viewers"),
    ]


def test_the_indexes_come_and_go_and_the_rows_stay(database_url):
    engine = create_engine(database_url)
    links = sa.table("account_links", *(sa.column(name) for name in (
        "platform", "platform_user_id", "discord_user_id", "username", "linked_in_guild_id",
        "linked_at")))  # fmt: skip
    viewers = sa.table("viewers", *(sa.column(name) for name in (
        "platform", "platform_user_id", "username", "updated_at")))  # fmt: skip
    try:
        _load_baseline(engine)
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn), "0057")
            conn.execute(links.insert(), {
                "platform": "kick", "platform_user_id": "k1", "discord_user_id": 7,
                "username": "Ana_Plays", "linked_in_guild_id": 111, "linked_at": AT})  # fmt: skip
            conn.execute(viewers.insert(), {
                "platform": "kick", "platform_user_id": "k1", "username": "Ana_Now",
                "updated_at": AT})  # fmt: skip
            before = _name_indexes(conn)
            command.upgrade(db._alembic_config(conn), "0058")
            after = _name_indexes(conn)
            found = conn.exec_driver_sql(
                "SELECT platform_user_id FROM account_links "
                "WHERE platform = 'kick' AND lower(username) = 'ana_plays'"
            ).all()
            command.downgrade(db._alembic_config(conn), "0057")
            back = _name_indexes(conn)
            kept = _rows(conn)
    finally:
        engine.dispose()
    assert before == set()
    assert after == INDEXES
    assert [tuple(row) for row in found] == [("k1",)]
    assert back == set()
    assert sorted(tuple(row) for row in kept) == [
        ("kick", "k1", "Ana_Now"), ("kick", "k1", "Ana_Plays")
    ]  # fmt: skip
