"""The tenants and the platform channels each one tracks (the event routing table)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from core.storage.columns import guild_key
from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

guilds = Table(
    "guilds",
    metadata,
    guild_key(),
    Column("name", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # When the bot was removed from the server (kicked, banned, the server deleted); None while
    # it is there. A left guild's chat, commands and events are not acted on.
    Column("left_at", UTCDateTime, nullable=True),
)


guild_channels = Table(
    "guild_channels",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "guild_id",
        Snowflake,
        ForeignKey("guilds.guild_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("platform", PlatformName, nullable=False),
    Column("channel_slug", String(100), nullable=False),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Kick's internal ids, needed only by the Pusher socket.
    Column("channel_id", BigInteger, nullable=True),
    Column("chatroom_id", BigInteger, nullable=True),
    UniqueConstraint("guild_id", "platform"),
    Index(None, "platform", "broadcaster_user_id"),
)
