"""Points: per-guild settings, the append-only ledger and the balances it moves."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from core.storage.columns import guild_key, viewer_columns, viewer_key
from core.storage.schema import ENCRYPTED, BigId, Snowflake, UTCDateTime, keep_pages_free, metadata

points_settings = Table(
    "points_settings",
    metadata,
    guild_key(),
    Column("name", String(32), nullable=False, server_default="points"),
    Column("updated_at", UTCDateTime, nullable=False),
    # Earning rates: points per present minute, for subscribers, per chat
    # message and at most per hour from chat; earnings are posted once per window of minutes.
    Column("watch_rate", Integer, nullable=False, server_default="1"),
    Column("sub_rate", Integer, nullable=False, server_default="2"),
    Column("chat_points", Integer, nullable=False, server_default="1"),
    Column("chat_cap", Integer, nullable=False, server_default="20"),
    Column("post_minutes", Integer, nullable=False, server_default="30"),
    # The watchtime tick the earnings were counted up to (advanced with a compare-and-set).
    Column("earned_until", UTCDateTime, nullable=True),
    # Where balances live: "ledger" (ours) or "streamelements" (the streamer's SE channel, whose
    # JWT is stored encrypted with TOKEN_ENCRYPTION_KEY).
    Column("backend", String(16), nullable=False, server_default="ledger"),
    Column("se_channel_id", String(24), nullable=True),
    Column("se_jwt", Text, nullable=True, info={ENCRYPTED: True}),
)


points_ledger = Table(
    "points_ledger",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    *viewer_columns(),
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
    guild_key(),
    *viewer_key(),
    Column("points", BigInteger, nullable=False),
    # The last line of defence: no statement may leave a balance below zero.
    CheckConstraint("points >= 0", name="ck_points_balances_not_negative"),
    Index(None, "platform", "platform_user_id"),  # a viewer's balances everywhere (/me)
)


points_accrual = Table(
    "points_accrual",
    metadata,
    # What a viewer earned but was not posted to the ledger yet: one row per viewer, updated in
    # place at each tick, posted as one ledger row per viewer per window (docs/points.md).
    guild_key(),
    *viewer_key(),
    Column("window_start", UTCDateTime, nullable=False),
    Column("watch_units", BigInteger, nullable=False, server_default="0"),  # point-seconds
    Column("chat_points", BigInteger, nullable=False, server_default="0"),
    Column("chat_hour", UTCDateTime, nullable=True),  # the hour chat_count counts in
    Column("chat_count", Integer, nullable=False, server_default="0"),
    Column("last_chat_at", UTCDateTime, nullable=True),
    Column("last_chat_digest", String(32), nullable=False, server_default=""),
    Index(None, "guild_id", "window_start"),
)
# Every tick adds to each present viewer's row: half of each page free, so the updates stay on
# their pages (HOT) and touch no index.
keep_pages_free(points_accrual, fillfactor=50)


# StreamElements backend: stakes held on our side (SE has no holds); each settlement payment is
# a call of the outbox's ``streamelements`` service, sent once (docs/points.md, "StreamElements").
points_se_holds = Table(
    "points_se_holds",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("username", String(32), nullable=False),  # the Twitch login SE keys points by
    Column("amount", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime, nullable=True),
    UniqueConstraint("guild_id", "source", "source_ref"),
    Index(None, "guild_id", "username"),
)
