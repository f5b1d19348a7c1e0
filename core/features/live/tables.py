"""One change counter per guild and topic: the embedded deployment's way for a bot process to
tell separate web workers that a page changed (they poll this small table)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from core.storage.columns import guild_key
from core.storage.schema import metadata

live_changes = Table(
    "live_changes",
    metadata,
    guild_key(),
    Column("topic", String(16), primary_key=True),
    Column("seq", BigInteger, nullable=False),  # grows by one per published change
)
