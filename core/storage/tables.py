"""Every table, in one MetaData, grouped by the feature that owns it.

Repositories query these; the Alembic migrations create them (a test checks that the two agree).
Feature tables are keyed by ``guild_id``; viewers by ``(platform, platform_user_id)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from core.events import utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which has no time zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Snowflake = BigInteger  # Discord ids fit in a signed 64-bit integer.
UserId = String(64)
PlatformName = String(16)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- guilds: the tenants and the platform channels each one tracks --------------------------

guilds = Table(
    "guilds",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
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

# --- viewers: platform identities, shared by every guild -----------------------------------

viewers = Table(
    "viewers",
    metadata,
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- bus and idempotency ---------------------------------------------------------------------

bus_events = Table(
    "bus_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_key", String(255), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("acked_at", UTCDateTime, nullable=True),
    Column("dead_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index(None, "acked_at", "dead_at", "id"),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("consumer", String(64), primary_key=True),
    Column("event_key", String(255), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
    Index(None, "processed_at"),
)

webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "received_at"),
)

# --- watchtime -------------------------------------------------------------------------------

watchtime = Table(
    "watchtime",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("seconds", BigInteger, nullable=False, server_default="0"),
    Column("last_seen", UTCDateTime, nullable=True),
    # No index on seconds, and on PostgreSQL fillfactor 50 (migration 0008; SQLAlchemy cannot
    # declare it): a tick's updates then stay on their pages (HOT).
)

watch_presence = Table(
    "watch_presence",
    metadata,
    Column("guild_id", Snowflake, autoincrement=False),
    Column("platform", PlatformName),
    Column("broadcaster_user_id", UserId),
    Column("platform_user_id", UserId),
    Column("last_active_at", UTCDateTime, nullable=False),
    # The viewer before the broadcaster: ticks look presence up by viewer (migration 0008).
    PrimaryKeyConstraint("guild_id", "platform", "platform_user_id", "broadcaster_user_id"),
    Index(None, "guild_id", "last_active_at"),
)

watch_streams = Table(
    "watch_streams",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("broadcaster_user_id", UserId, primary_key=True),
    Column("is_live", Boolean, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

watch_settings = Table(
    "watch_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("tracking_enabled", Boolean, nullable=False, server_default=sa.true()),
    Column("last_tick_at", UTCDateTime, nullable=True),
)

# --- Kick connections, OAuth and subscriptions ------------------------------------------------

kick_connections = Table(
    "kick_connections",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("kick_username", String(100), nullable=False),
    Column("access_token", Text, nullable=False),  # encrypted
    Column("refresh_token", Text, nullable=True),  # encrypted
    Column("expires_at", UTCDateTime, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("status", String(16), nullable=False),  # "connected" or "needs_reauth"
    Column("connected_by", Snowflake, nullable=False),
    Column("needs_sync", Boolean, nullable=False, server_default=sa.true()),
    Column("updated_at", UTCDateTime, nullable=False),
)

kick_subscriptions = Table(
    "kick_subscriptions",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("event", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "broadcaster_user_id"),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("guild_id", Snowflake, nullable=False),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("code_verifier", Text, nullable=False),  # encrypted
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index(None, "expires_at"),
)

account_links = Table(
    "account_links",
    metadata,
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("username", String(100), nullable=False),
    Column("linked_in_guild_id", Snowflake, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("discord_user_id", "platform"),
)
