"""The heist: per-guild settings, heists and their crews."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from core.storage.columns import guild_key, viewer_columns
from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

# One row per setting a guild changed with !heistset; the rest are the defaults.
heist_settings = Table(
    "heist_settings",
    metadata,
    guild_key(),
    Column("name", String(32), primary_key=True),
    Column("value", String(32), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


heists = Table(
    "heists",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("state", String(16), nullable=False),  # open, resolved, cancelled
    # "<guild>:<platform>" while open, NULL after: at most one open heist per guild and chat.
    Column("open_key", String(64), nullable=True, unique=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closes_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),  # or cancelled
    Column("announced_at", UTCDateTime, nullable=True),
    Index(None, "guild_id", "platform", "opened_at"),
    Index(None, "state", "closes_at"),
)


heist_participants = Table(
    "heist_participants",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("heist_id", BigInteger, nullable=False),
    Column("guild_id", Snowflake, nullable=False),
    *viewer_columns(),
    Column("username", String(100), nullable=False),
    Column("stake", BigInteger, nullable=False),
    Column("risk", String(8), nullable=False),  # low, medium, high
    Column("joined_at", UTCDateTime, nullable=False),
    Column("has_sub_badge", Boolean, nullable=False, server_default=sa.false()),
    # Set at resolution: the tier used (prime, 1, 2, 3 or NULL) and its multiplier in
    # hundredths (100: no bonus), the odds used, the outcome and the payout.
    Column("tier", String(8), nullable=True),
    Column("tier_multiplier_x100", Integer, nullable=True),
    Column("chance_percent", Integer, nullable=True),
    Column("risk_multiplier_x100", Integer, nullable=True),
    Column("won", Boolean, nullable=True),
    Column("payout", BigInteger, nullable=True),
    UniqueConstraint("heist_id", "platform_user_id"),
    Index(None, "guild_id", "platform", "platform_user_id"),
)
