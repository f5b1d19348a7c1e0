"""Watchtime roles: tiers, settings and the roles handed out."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    String,
    Table,
)

from core.storage.columns import guild_key
from core.storage.schema import Snowflake, UTCDateTime, metadata

role_tiers = Table(
    "role_tiers",
    metadata,
    guild_key(),
    Column("role_id", Snowflake, primary_key=True, autoincrement=False),
    Column("minutes", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Off: role sync neither gives nor takes this role (``!roles disable <role>``).
    Column("enabled", Boolean, nullable=False, server_default=sa.true()),
)


role_settings = Table(
    "role_settings",
    metadata,
    guild_key(),
    Column("enabled", Boolean, nullable=False, server_default=sa.true()),
    Column("mode", String(16), nullable=False, server_default="all"),  # "all" or "highest"
    Column("dm_on_new_role", Boolean, nullable=False, server_default=sa.false()),
)

# A member is told about a role once: the row is written before the DM goes out.
role_awards = Table(
    "role_awards",
    metadata,
    guild_key(),
    Column("discord_user_id", Snowflake, primary_key=True, autoincrement=False),
    Column("role_id", Snowflake, primary_key=True, autoincrement=False),
    Column("awarded_at", UTCDateTime, nullable=False),
)
