"""The event bus's tables (queued events, effects already done, webhook receipts), the outbox
of calls to outside services (``core/outbox/``) and the leases that share work among bot
processes (``core/ownership/``)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from core.storage.columns import guild_key
from core.storage.schema import BigId, Snowflake, UTCDateTime, metadata

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
    guild_key(),
    Column("consumer", String(64), primary_key=True),
    Column("event_key", String(255), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
    Index(None, "processed_at"),
)


# The outbox calls that did not happen; a query finds them through the partial index below only
# with this very text (SQLite does not match a partial index's condition to bound parameters).
OUTBOX_UNDONE = "state IN ('refused', 'failed')"
# StreamElements' points payments (core/features/points/se_payments.py), found by the same rule.
OUTBOX_SE_PAYMENTS = "service = 'streamelements'"

# A call to an outside service (Helix, a platform's chat, Discord, StreamElements, Shuffle),
# written in the transaction of the handler that decided it and made by that service's worker.
# state: pending, done, refused (the service said no, for good), uncertain (it may have
# happened: never sent again), failed (gave up after max attempts). claimed_by is set while a
# worker makes the call (its process's name); the claim passes to another worker once that
# process's heartbeat lease or claimed_until runs out (core/ownership/claims.py).
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("service", String(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("guild_id", Snowflake, nullable=False),
    Column("effect_key", String(255), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("result", Text, nullable=True),
    Column("summary", String(200), nullable=True),  # what it does, in the streamer's words
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "service", "state", "next_attempt_at"),
    Index(None, "guild_id", "created_at"),
    # The calls that did not happen, by guild (``!health``, the dashboard's overview).
    Index(
        "ix_outbox_undone_by_guild",
        "guild_id",
        "finished_at",
        sqlite_where=text(OUTBOX_UNDONE),
        postgresql_where=text(OUTBOX_UNDONE),
    ),
    # A viewer's StreamElements payments waiting, and made since their balance was read (every
    # StreamElements heist join and points removal reads them), among 30 days of every call.
    Index(
        "ix_outbox_se_payments_by_guild",
        "guild_id",
        "state",
        "finished_at",
        sqlite_where=text(OUTBOX_SE_PAYMENTS),
        postgresql_where=text(OUTBOX_SE_PAYMENTS),
    ),
)


# Who does what among the bot processes (``core/ownership/``): a lease per name ("partition:3",
# "job:expiring temporary VIPs", "process:<id>"), held until expires_at unless renewed. A name
# whose lease ran out is free to take.
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)


webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "received_at"),
)
