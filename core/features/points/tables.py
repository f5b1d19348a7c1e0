"""Points: per-guild settings, the append-only ledger and the balances it moves."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

points_settings = Table(
    "points_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("name", String(32), nullable=False, server_default="points"),
    Column("updated_at", UTCDateTime, nullable=False),
)


points_ledger = Table(
    "points_ledger",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=False),
    Column("amount", BigInteger, nullable=False),  # negative for a spend
    Column("source", String(16), nullable=False),
    Column("source_ref", String(255), nullable=False),
    Column("actor_id", Snowflake, nullable=True),  # the Discord user of an admin row
    Column("actor", String(100), nullable=True),  # or who else acted: "cli", "dashboard:<id>"
    Column("reason", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("guild_id", "source", "source_ref"),
    Index(None, "guild_id", "platform", "platform_user_id"),
)


points_balances = Table(
    "points_balances",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("points", BigInteger, nullable=False),
    # The last line of defence: no statement may leave a balance below zero.
    CheckConstraint("points >= 0", name="ck_points_balances_not_negative"),
)
