"""Watchtime: totals, presence from chat, stream state and each guild's tick settings."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
)

from core.storage.columns import guild_key, viewer_key
from core.storage.schema import (
    PlatformName,
    Snowflake,
    UserId,
    UTCDateTime,
    keep_pages_free,
    metadata,
)

watchtime = Table(
    "watchtime",
    metadata,
    guild_key(),
    *viewer_key(),
    Column("seconds", BigInteger, nullable=False, server_default="0"),
    Column("last_seen", UTCDateTime, nullable=True),
    # A viewer's rows in every server (their /me page); the tick never changes these columns.
    Index(None, "platform", "platform_user_id"),
)
# Every tick updates it: no index on seconds, and half of each page free, so the updates stay on
# their pages (HOT).
keep_pages_free(watchtime, fillfactor=50)


watch_presence = Table(
    "watch_presence",
    metadata,
    Column("guild_id", Snowflake, autoincrement=False),
    Column("platform", PlatformName),
    Column("broadcaster_user_id", UserId),
    Column("platform_user_id", UserId),
    Column("last_active_at", UTCDateTime, nullable=False),
    # The start of the run of activity that ends at last_active_at (no gap in it longer than the
    # active window), and the latest activity of an earlier run: a late tick counts exactly what
    # came before its instant (repository._MARK_PRESENT). active_bucket is no longer written.
    Column("active_bucket", BigInteger, nullable=True),
    Column("earlier_active_at", UTCDateTime, nullable=True),
    Column("active_since", UTCDateTime, nullable=True),
    # The viewer before the broadcaster: ticks look presence up by viewer.
    PrimaryKeyConstraint("guild_id", "platform", "platform_user_id", "broadcaster_user_id"),
    Index(None, "guild_id", "last_active_at"),
)


watch_streams = Table(
    "watch_streams",
    metadata,
    guild_key(),
    Column("platform", PlatformName, primary_key=True),
    Column("broadcaster_user_id", UserId, primary_key=True),
    Column("is_live", Boolean, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    # The latest stream start heard of (null: none since this column came); no end stamped
    # before it applies.
    Column("started_at", UTCDateTime, nullable=True),
)


watch_settings = Table(
    "watch_settings",
    metadata,
    guild_key(),
    Column("tracking_enabled", Boolean, nullable=False, server_default=sa.true()),
    Column("last_tick_at", UTCDateTime, nullable=True),
    Column("last_tick_seconds", Integer, nullable=True),  # what that tick credited each viewer
)


# Each hour's crowd, for the dashboard's charts: the most viewers one tick credited in the hour,
# and the viewer-seconds credited in it (a tick of 100 viewers x 60 s adds 6,000). Written in the
# tick's own transaction, so it counts exactly what the tick credited; kept for HOURS_KEPT.
watch_hours = Table(
    "watch_hours",
    metadata,
    guild_key(),
    Column("hour", UTCDateTime, primary_key=True),
    Column("peak_viewers", Integer, nullable=False),
    Column("viewer_seconds", BigInteger, nullable=False),
)
