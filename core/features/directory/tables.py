"""The server directory's tables: a row per server, role, channel and member the bot has seen."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Boolean, Column, Integer, String, Table

from core.storage.columns import guild_key
from core.storage.schema import Snowflake, UTCDateTime, metadata

directory_guilds = Table(
    "directory_guilds",
    metadata,
    guild_key(),
    Column("name", String(100), nullable=False),
    Column("icon", String(64), nullable=True),  # Discord's icon hash (cdn.discordapp.com/icons)
    Column("can_manage_roles", Boolean, nullable=True),  # None: only a login has told of it
    Column("updated_at", UTCDateTime, nullable=False),
)

directory_roles = Table(
    "directory_roles",
    metadata,
    guild_key(),
    Column("role_id", Snowflake, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    Column("color", Integer, nullable=False, server_default="0"),
    Column("assignable", Boolean, nullable=False),  # below the bot's top role, not managed
    Column("is_default", Boolean, nullable=False, server_default=sa.false()),  # @everyone
)

directory_channels = Table(
    "directory_channels",
    metadata,
    guild_key(),
    Column("channel_id", Snowflake, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),  # a thread's follows its channel's
    Column("kind", String(16), nullable=False),  # text, news, voice, stage, forum, category, thread
    Column("position", Integer, nullable=False),  # a thread's: its channel's
    Column("can_post", Boolean, nullable=False),  # the bot may send messages and embeds there
)

directory_members = Table(
    "directory_members",
    metadata,
    guild_key(),
    Column("user_id", Snowflake, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),  # the name shown in the server
    Column("avatar", String(64), nullable=True),
    Column("seen_at", UTCDateTime, nullable=False),
)
