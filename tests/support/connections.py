"""A streamer's connection stored as a sign-in stores it, with tokens a fake platform issued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from core.features.connections import connection_rows
from core.features.connections.connection_rows import StoredConnection
from core.security.secrets import TokenCipher


def store_connection(
    engine: sa.Engine,
    cipher: TokenCipher,
    table: sa.Table,
    guild_id: int,
    streamer: tuple[str, str],
    tokens: tuple[str, str],
) -> None:
    """``guild_id``'s connection in ``table`` as ``streamer`` (broadcaster id, name), holding
    ``tokens`` (access, refresh) encrypted with ``cipher``."""
    now = datetime.now(UTC)
    stored = StoredConnection(
        guild_id=guild_id,
        broadcaster_user_id=streamer[0],
        username=streamer[1],
        access_token=cipher.encrypt(tokens[0]),
        refresh_token=cipher.encrypt(tokens[1]),
        expires_at=now + timedelta(hours=1),
        scopes=(),
        status="connected",
        connected_by=777,
    )
    with engine.begin() as conn:
        connection_rows.save(conn, table, stored, now)
