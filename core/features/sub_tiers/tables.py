"""The tier record: one row per viewer per guild, keyed by the platform user id."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Boolean, Column, Index, String, Table

from core.storage.columns import guild_key, viewer_key
from core.storage.schema import UTCDateTime, metadata

# tier: "1", "2" or "3". is_prime only where a source said so (Twitch's chat notifications).
# source: what told us ("twitch:channel.subscribe", "kick:renewal", "helix", "badge", ...).
# since: when this tier was first seen (kept while later events repeat it); seen_at: the newest
# sighting, which decides between two sources; expires_at: when the record stops counting;
# ended_at: when Twitch said the subscription ended (a source that spoke before then is too late).
sub_tiers = Table(
    "sub_tiers",
    metadata,
    guild_key(),
    *viewer_key(),
    Column("tier", String(1), nullable=False),
    Column("is_prime", Boolean, nullable=False, server_default=sa.false()),
    Column("source", String(48), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Index(None, "guild_id", "expires_at"),
)
