"""Slot calls: settings, the queue and the blacklist."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from core.storage.columns import chat_viewer_columns, guild_key
from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

slot_call_settings = Table(
    "slot_call_settings",
    metadata,
    guild_key(),
    Column("enabled", Boolean, nullable=False, server_default=sa.false()),
    Column("channel_id", Snowflake, nullable=True),  # None: SLOT_CALLS_CHANNEL_ID
    Column("cooldown_seconds", Integer, nullable=False, server_default="30"),
    Column("max_open_per_user", Integer, nullable=True),  # None: no limit
    Column("require_link", Boolean, nullable=False, server_default=sa.false()),
    # False: !sr is left to a song request bot; only !call makes a slot call.
    Column("answer_sr", Boolean, nullable=False, server_default=sa.true()),
    Column("updated_at", UTCDateTime, nullable=False),
)


slot_calls = Table(
    "slot_calls",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("event_key", String(255), nullable=False),  # the chat message's: one call per message
    *chat_viewer_columns(),
    Column("discord_user_id", Snowflake, nullable=True),  # the linked member, when there is one
    Column("slot_name", String(200), nullable=False),
    Column("slot_key", String(200), nullable=False),  # casefolded, without spaces
    Column("status", String(16), nullable=False),  # "open", "picked", "cleared" or "skipped"
    Column("called_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", Snowflake, nullable=True),
    UniqueConstraint("guild_id", "event_key"),
    Index(None, "guild_id", "status", "slot_key"),
    Index(None, "guild_id", "platform", "platform_user_id", "called_at"),
)


slot_call_blacklist = Table(
    "slot_call_blacklist",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=True),  # None: not seen in chat yet
    Column("username", String(100), nullable=False),
    Column("username_key", String(100), nullable=False),  # lowercased
    Column("reason", String(200), nullable=True),
    Column("added_by", Snowflake, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("guild_id", "platform", "username_key"),
)
