"""Overlays: each guild's secret URL per overlay kind, its overlay settings and its alert feed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from core.storage.columns import guild_key
from core.storage.schema import ENCRYPTED, PlatformName, UserId, UTCDateTime, metadata

# One secret per guild and kind (heist, raffle, alerts). Found by the SHA-256 of the token (a
# random 192-bit value, so the hash is enough to look it up by); the token itself is kept
# encrypted (TOKEN_ENCRYPTION_KEY) only so the dashboard and the CLI can show the URL again.
overlay_tokens = Table(
    "overlay_tokens",
    metadata,
    guild_key(),
    Column("kind", String(16), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_sealed", String(512), nullable=False, info={ENCRYPTED: True}),
    Column("created_at", UTCDateTime, nullable=False),
)

overlay_settings = Table(
    "overlay_settings",
    metadata,
    guild_key(),
    Column("alert_vip", Boolean, nullable=False, server_default=sa.true()),
    Column("alert_gifts", Boolean, nullable=False, server_default=sa.true()),
    Column("alert_milestones", Boolean, nullable=False, server_default=sa.true()),
    # Up to 8 milestones of up to 1,000,000,000 (settings.py): at most 87 characters.
    Column("milestones", String(128), nullable=False, server_default="100,500,1000"),
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
    # What the overlay plays with it, chosen when it was recorded (the kind's style or the
    # amount's variation): the amount it was chosen by, a picture, a sound, how long it stays.
    Column("amount", BigInteger, nullable=True),
    Column("image_id", String(32), nullable=True),
    Column("sound_id", String(32), nullable=True),
    Column("seconds", Integer, nullable=True),
    # The viewer it names (a follower, a gifter, a raider, a VIP, ...), so a person's export
    # finds it and forgetting them deletes it; None for one about no viewer (a test alert) or
    # one recorded before 0044 whose reference did not say whose it was.
    Column("platform", PlatformName, nullable=True),
    Column("platform_user_id", UserId, nullable=True),
    UniqueConstraint("guild_id", "source_ref"),
)

# How each kind of alert looks, per guild (no row: the kind's defaults). ``enabled`` of the
# VIP, gifted subs and ticket milestone kinds lives in overlay_settings, as before.
overlay_alert_styles = Table(
    "overlay_alert_styles",
    metadata,
    guild_key(),
    Column("kind", String(24), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("template", String(200), nullable=False),
    Column("seconds", Integer, nullable=False),
    Column("image_id", String(32), nullable=True),
    Column("sound_id", String(32), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A bigger amount's own text, picture or sound: the variation with the highest threshold at or
# below the amount wins; a blank template keeps the kind's.
overlay_alert_variations = Table(
    "overlay_alert_variations",
    metadata,
    guild_key(),
    Column("kind", String(24), primary_key=True),
    Column("threshold", BigInteger, primary_key=True, autoincrement=False),
    Column("template", String(200), nullable=False),
    Column("image_id", String(32), nullable=True),
    Column("sound_id", String(32), nullable=True),
)

# Pictures and sounds a streamer uploaded, kept with the data (checked by their first bytes).
overlay_media = Table(
    "overlay_media",
    metadata,
    guild_key(),
    Column("media_id", String(32), primary_key=True),
    Column("what", String(8), nullable=False),  # image or sound
    Column("content_type", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The goal bar: one per guild, toward ``target`` of ``measure`` (subs, gifts, follows, points),
# counted from ``started_at`` (a reset moves it to now and the count to zero).
overlay_goals = Table(
    "overlay_goals",
    metadata,
    guild_key(),
    Column("measure", String(16), nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("progress", BigInteger, nullable=False),
    Column("title", String(100), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# What moved a goal, once each (a redelivered event or a second source moves it no further).
overlay_goal_moves = Table(
    "overlay_goal_moves",
    metadata,
    guild_key(),
    Column("source_ref", String(255), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
