"""Platform identities shared by every guild: ``(platform, platform_user_id)`` -> username."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    String,
    Table,
    func,
)

from core.storage.columns import viewer_key
from core.storage.schema import UTCDateTime, metadata

viewers = Table(
    "viewers",
    metadata,
    *viewer_key(),
    Column("username", String(100), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The viewers going by a name now, in any case (``!linkowner``, a look-up by name).
Index(
    "ix_viewers_platform_lower_username",
    viewers.c.platform,
    func.lower(viewers.c.username),
)
