"""Importers: runs per guild and source, the source rows already imported, imported winners."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from core.storage.columns import guild_key
from core.storage.schema import PlatformName, Snowflake, UserId, UTCDateTime, metadata

# One row per guild and source: "running" is committed before the import's own transaction,
# and becomes "done" inside it; a "running" row left behind is an import that died (its
# changes were rolled back) or one running right now.
import_runs = Table(
    "import_runs",
    metadata,
    guild_key(),
    Column("source", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # running, done, failed (rolled back)
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
)


# A source row already imported into a guild (e.g. "watchtime:alice"); never imported twice.
import_markers = Table(
    "import_markers",
    metadata,
    guild_key(),
    Column("source", String(32), primary_key=True),
    Column("source_ref", String(255), primary_key=True),
    Column("imported_at", UTCDateTime, nullable=False),
)


# Winners of raffles drawn by another bot: history only (no proof, no ledger behind them).
imported_winners = Table(
    "imported_winners",
    metadata,
    guild_key(),
    Column("source", String(32), primary_key=True),
    Column("source_ref", String(255), primary_key=True),
    Column("period_starts_at", UTCDateTime, nullable=True),
    Column("period_ends_at", UTCDateTime, nullable=True),
    Column("discord_user_id", Snowflake, nullable=True),
    Column("platform", PlatformName, nullable=True),
    Column("platform_user_id", UserId, nullable=True),  # None: the name could not be resolved
    Column("username", String(100), nullable=False),
    Column("tickets", Integer, nullable=True),  # the winner's tickets, when the source kept them
    Column("prize", String(200), nullable=False, server_default=""),
    Column("drawn_at", UTCDateTime, nullable=True),
)
