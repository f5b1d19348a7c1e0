"""Overlays: each guild's secret URL per overlay kind, its overlay settings and its alert feed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, UniqueConstraint

from core.storage.columns import guild_key
from core.storage.schema import UTCDateTime, metadata

# One secret per guild and kind (heist, raffle, alerts). Found by the SHA-256 of the token (a
# random 192-bit value, so the hash is enough to look it up by); the token itself is kept
# encrypted (TOKEN_ENCRYPTION_KEY) only so the dashboard and the CLI can show the URL again.
overlay_tokens = Table(
    "overlay_tokens",
    metadata,
    guild_key(),
    Column("kind", String(16), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_sealed", String(512), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

overlay_settings = Table(
    "overlay_settings",
    metadata,
    guild_key(),
    Column("alert_vip", Boolean, nullable=False, server_default=sa.true()),
    Column("alert_gifts", Boolean, nullable=False, server_default=sa.true()),
    Column("alert_milestones", Boolean, nullable=False, server_default=sa.true()),
    Column("milestones", String(64), nullable=False, server_default="100,500,1000"),
    Column("alert_seconds", Integer, nullable=False, server_default="6"),
    Column("accent_colour", String(7), nullable=False, server_default="#9146ff"),
    Column("text_colour", String(7), nullable=False, server_default="#ffffff"),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The last alert number each guild handed out: the row a new alert bumps (its lock orders two
# writers of one guild on PostgreSQL).
overlay_alert_counters = Table(
    "overlay_alert_counters",
    metadata,
    guild_key(),
    Column("seq", BigInteger, nullable=False),
)

# Append-only: an overlay that reconnects asks for the numbers after the last one it showed.
overlay_alerts = Table(
    "overlay_alerts",
    metadata,
    guild_key(),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(24), nullable=False),  # vip_granted, vip_extended, gifted_subs, ...
    Column("title", String(200), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("source_ref", String(255), nullable=False),  # what it announces, once
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("guild_id", "source_ref"),
)
