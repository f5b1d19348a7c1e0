"""The event bus's tables: queued events, effects already done, webhook receipts."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

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
