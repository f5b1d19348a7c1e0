"""Platform identities shared by every guild: ``(platform, platform_user_id)`` -> username."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    String,
    Table,
)

from core.storage.schema import PlatformName, UserId, UTCDateTime, metadata

viewers = Table(
    "viewers",
    metadata,
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- bus and idempotency ---------------------------------------------------------------------
