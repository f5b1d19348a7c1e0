"""One row per signed-in dashboard session. The cookie carries a random session id; only its
SHA-256 is stored, so the table gives nobody a cookie that works."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from core.storage.schema import Snowflake, UTCDateTime, metadata

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # hex SHA-256 of the cookie's session id
    Column("user_id", Snowflake, nullable=False),  # the Discord user signed in
    Column("started_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_user_id", "user_id"),
    Index("ix_web_sessions_expires_at", "expires_at"),
)
