"""Payments in doubt: how each uncertain outbox call was settled, and by whom."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, UniqueConstraint

from core.storage.schema import BigId, Snowflake, UTCDateTime, metadata

# One row per settled outbox call: its unique ``outbox_id`` is the compare-and-set that lets two
# admins clicking at once settle a call once. ``effect_key`` keeps the call's identity after the
# outbox forgets it (finished calls are pruned after 30 days).
payments_settlements = Table(
    "payments_settlements",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("outbox_id", BigInteger, nullable=False),
    Column("effect_key", String(255), nullable=False),
    Column("action", String(8), nullable=False),  # "paid" or "again"
    Column("again_key", String(255), nullable=True),  # the call queued by "again"
    Column("actor_id", Snowflake, nullable=True),  # the admin's Discord id
    Column("actor", String(100), nullable=False),  # where: "discord", "dashboard", "cli"
    Column("reason", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("outbox_id"),
    Index(None, "guild_id", "created_at"),
)
