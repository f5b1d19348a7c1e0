"""Chat commands accepted and not yet run to the end: a row each, from the moment the router
takes a command until it has run (``pending.py``), so a process killed meanwhile leaves it to
another."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from core.storage.schema import BigId, Snowflake, UTCDateTime, metadata

chat_commands_pending = Table(
    "chat_commands_pending",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("event_key", String(255), nullable=False),  # the chat message's: one run per message
    Column("command", String(32), nullable=False),  # its own name, whichever alias was typed
    Column("arguments", Text, nullable=False),
    Column("permission", Integer, nullable=False),
    Column("event", Text, nullable=False),  # the chat message as the bus carries it
    Column("holder", String(64), nullable=False),  # the process running it
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("guild_id", "event_key"),
    Index(None, "received_at"),
)
