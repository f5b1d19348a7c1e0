"""Migration 0046: overlay_settings.milestones widens from 64 to 128 characters; a server's
settings are kept, and the longest list the form accepts is stored afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from core.storage import db
from core.storage.db import create_engine
from tests.storage.test_db import _load_baseline

LONGEST = "999999993,999999994,999999995,999999996,999999997,999999998,999999999,1000000000"


def test_settings_are_kept_and_the_longest_milestones_fit_afterwards(database_url):
    engine = create_engine(database_url)
    columns = ("guild_id", "milestones", "alert_seconds", "updated_at")
    settings = sa.table("overlay_settings", *(sa.column(name) for name in columns))
    at = datetime(2026, 3, 10, tzinfo=UTC)
    try:
        _load_baseline(engine)
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn), "0045")
            conn.execute(
                settings.insert(),
                {"guild_id": 1, "milestones": "5,50", "alert_seconds": 9, "updated_at": at},
            )
            command.upgrade(db._alembic_config(conn), "0046")
            conn.execute(
                settings.insert(), {"guild_id": 2, "milestones": LONGEST, "updated_at": at}
            )
            rows = conn.execute(
                sa.text("SELECT guild_id, milestones, alert_seconds FROM overlay_settings")
            ).all()
    finally:
        engine.dispose()
    assert sorted(tuple(row) for row in rows) == [(1, "5,50", 9), (2, LONGEST, 6)]


def test_going_back_keeps_the_milestones_that_fit_in_64_characters(database_url):
    engine = create_engine(database_url)
    columns = ("guild_id", "milestones", "updated_at")
    settings = sa.table("overlay_settings", *(sa.column(name) for name in columns))
    try:
        _load_baseline(engine)
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn), "0046")
            at = datetime(2026, 3, 10, tzinfo=UTC)
            conn.execute(
                settings.insert(), {"guild_id": 1, "milestones": LONGEST, "updated_at": at}
            )
            command.downgrade(db._alembic_config(conn), "0045")
            kept = conn.execute(sa.text("SELECT milestones FROM overlay_settings")).scalar_one()
    finally:
        engine.dispose()
    assert kept == "999999993,999999994,999999995,999999996,999999997,999999998"
