"""Migration 0040: a guild's reward settings become its first VIP rules, each for the guild's
hours (a Twitch reward by its id, a Kick reward with a role by its title)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from core.storage import db
from core.storage.db import create_engine
from tests.storage.test_db import _load_baseline


def test_the_reward_settings_become_rules(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        _load_baseline(engine)  # as the squash found it, then migrated to the step before
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn), "0039")
            settings = sa.table(
                "vip_settings",
                *(
                    sa.column(name)
                    for name in (
                        "guild_id",
                        "reward_id",
                        "reward_title",
                        "reward_cost",
                        "duration_hours",
                        "kick_reward_title",
                        "kick_role_id",
                        "updated_at",
                    )
                ),
            )
            at = datetime(2026, 11, 1, tzinfo=UTC)
            conn.execute(
                settings.insert(),
                [
                    {
                        "guild_id": 1,
                        "reward_id": "r-1",
                        "reward_title": "VIP 1 day",
                        "reward_cost": 5000,
                        "duration_hours": 24,
                        "kick_reward_title": "Kick VIP",
                        "kick_role_id": 77,
                        "updated_at": at,
                    },
                    {
                        "guild_id": 2,
                        "reward_id": None,
                        "reward_title": None,
                        "reward_cost": None,
                        "duration_hours": 12,
                        "kick_reward_title": None,
                        "kick_role_id": None,
                        "updated_at": at,
                    },
                ],
            )
            command.upgrade(db._alembic_config(conn), "0040")
            rows = conn.execute(
                sa.text(
                    "SELECT guild_id, platform, kind, reward_id, reward_title, reward_cost, "
                    "at_least, hours FROM vip_rules ORDER BY platform"
                )
            ).all()
            audit_columns = {c["name"] for c in sa.inspect(conn).get_columns("vip_audit")}
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "kick", "reward", None, "Kick VIP", None, None, 24),
        (1, "twitch", "reward", "r-1", "VIP 1 day", 5000, None, 24),
    ]
    assert "rule_id" in audit_columns
