"""What ``!kick status``, ``!twitch status``, ``!health`` and the dashboard show of a guild's
connection, the same on every platform: the streamer's stored connection as a status, and the
fields each platform's setup status starts with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.features.connections.connection_rows import CONNECTED, StoredConnection
from core.features.guilds.repository import TrackedChannel


@dataclass(frozen=True)
class ConnectionStatus:
    """``missing_scopes`` and ``validated_at`` stay empty on platforms that do not validate
    tokens (Kick)."""

    guild_id: int
    is_connected: bool
    needs_reauthorization: bool
    username: str | None
    broadcaster_user_id: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]
    missing_scopes: tuple[str, ...] = ()
    validated_at: datetime | None = None

    @classmethod
    def of(
        cls, guild_id: int, stored: StoredConnection | None, *, is_readable: bool = True
    ) -> ConnectionStatus:
        """The status of the guild's stored connection (None: not connected). A connection
        whose tokens this process cannot decrypt (``is_readable`` False) needs the streamer
        again, whatever its row says."""
        if stored is None:
            return cls(guild_id, False, False, None, None, None, ())
        is_working = stored.status == CONNECTED and is_readable
        return cls(
            guild_id=guild_id,
            is_connected=is_working,
            needs_reauthorization=not is_working,
            username=stored.username,
            broadcaster_user_id=stored.broadcaster_user_id,
            expires_at=stored.expires_at,
            scopes=stored.scopes,
            missing_scopes=stored.missing_scopes,
            validated_at=stored.validated_at,
        )


@dataclass(frozen=True)
class SetupStatus:
    """A guild's channel on one platform, its connection and its subscriptions (``missing``:
    the wanted ones not subscribed); each platform's status adds what it checks besides."""

    channel: TrackedChannel | None
    connection: ConnectionStatus
    subscribed: tuple[str, ...]
    missing: tuple[str, ...]
