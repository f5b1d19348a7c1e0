"""The health line of the streamers' connections: which servers' Kick or Twitch connection the
platform stopped taking (its refresh refused, or a 401 that stayed with a fresh token), so the
operator hears of it without opening every server's status."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from core.features.connections import connection_rows
from core.features.connections.connection_rows import NEEDS_REAUTH
from core.features.connections.tables import kick_connections, twitch_connections
from core.health import Check, unread

NAMED_AT_MOST = 5  # servers named per platform; the rest are counted

_TABLES = (
    ("Kick", kick_connections, "!kick setup"),
    ("Twitch", twitch_connections, "!twitch setup"),
)


def consent_check(engine: Engine, name_of: Callable[[int], str | None]) -> Check:
    """``connections``: ok when every stored connection works; degraded, naming the servers
    (``name_of``: a server's name, or None) and what to do, when some need the streamer to
    connect again. Never a failure: the database's own check says when it cannot be read."""
    try:
        with engine.connect() as conn:
            waiting = [
                (platform, command, connection_rows.list_guild_ids(conn, table, NEEDS_REAUTH))
                for platform, table, command in _TABLES
            ]
    except Exception:
        return unread("connections")
    parts = []
    for platform, command, guild_ids in waiting:
        if not guild_ids:
            continue
        named = [_server(guild_id, name_of) for guild_id in guild_ids[:NAMED_AT_MOST]]
        more = len(guild_ids) - len(named)
        parts.append(
            f"{platform} needs the streamer to connect again in {', '.join(named)}"
            + (f" and {more} more" if more else "")
            + f" ({command} <channel>, or the dashboard's Kick & Twitch page)"
        )
    if not parts:
        return Check("connections", True, "every streamer's connection works")
    return Check("connections", True, "; ".join(parts), degraded=True)


def _server(guild_id: int, name_of: Callable[[int], str | None]) -> str:
    try:
        name = name_of(guild_id)
    except Exception:
        name = None
    return f"{name} ({guild_id})" if name else f"server {guild_id}"
