"""The statements every platform's connections table shares (one row per guild: the streamer's
encrypted tokens, ``status`` and ``needs_sync``); each takes the platform's table. What differs
between platforms (their other columns) stays in ``kick/repository.py`` and
``twitch/repository.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.engine import Connection

from core.storage.db import insert_for

CONNECTED = "connected"
NEEDS_REAUTH = "needs_reauth"


@dataclass(frozen=True)
class StoredConnection:
    """A guild's connection as stored: the streamer's account, their tokens (both encrypted),
    what they granted and whether the grant still works. ``missing_scopes`` and
    ``validated_at`` are kept on platforms that validate tokens (Twitch)."""

    guild_id: int
    broadcaster_user_id: str
    username: str
    access_token: str = field(repr=False)  # encrypted
    refresh_token: str | None = field(repr=False)  # encrypted
    expires_at: datetime
    scopes: tuple[str, ...]
    status: str
    connected_by: int
    needs_sync: bool = True
    missing_scopes: tuple[str, ...] = ()
    validated_at: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"StoredConnection(guild_id={self.guild_id}, username={self.username!r}, "
            f"status={self.status!r}, expires_at={self.expires_at.isoformat()})"
        )


def save(conn: Connection, table: Table, stored: StoredConnection, now: datetime) -> None:
    """Insert or replace the guild's row (a new consent replaces the old grant)."""
    values: dict[str, object] = {
        "guild_id": stored.guild_id,
        "broadcaster_user_id": stored.broadcaster_user_id,
        _username_column(table): stored.username,
        "access_token": stored.access_token,
        "refresh_token": stored.refresh_token,
        "expires_at": stored.expires_at,
        "scopes": " ".join(stored.scopes),
        "status": stored.status,
        "connected_by": stored.connected_by,
        "needs_sync": stored.needs_sync,
        "updated_at": now,
    }
    if "missing_scopes" in table.c:
        values.update(missing_scopes=" ".join(stored.missing_scopes))
    if "validated_at" in table.c:
        values.update(validated_at=stored.validated_at)
    stmt = insert_for(conn, table).values(values)
    update = {key: value for key, value in values.items() if key != "guild_id"}
    conn.execute(stmt.on_conflict_do_update(index_elements=[table.c.guild_id], set_=update))


def get(conn: Connection, table: Table, guild_id: int) -> StoredConnection | None:
    row = conn.execute(sa.select(table).where(table.c.guild_id == guild_id)).first()
    if row is None:
        return None
    values = row._mapping
    return StoredConnection(
        guild_id=row.guild_id,
        broadcaster_user_id=row.broadcaster_user_id,
        username=values[_username_column(table)],
        access_token=row.access_token,
        refresh_token=row.refresh_token,
        expires_at=row.expires_at,
        scopes=tuple(row.scopes.split()),
        status=row.status,
        connected_by=row.connected_by,
        needs_sync=bool(row.needs_sync),
        missing_scopes=tuple((values.get("missing_scopes") or "").split()),
        validated_at=values.get("validated_at"),
    )


def _username_column(table: Table) -> str:
    """Where the table keeps the streamer's account name (Kick's table calls it
    ``kick_username``, Twitch's ``login``)."""
    return table.info["username_column"]


def replace_tokens(
    conn: Connection,
    table: Table,
    guild_id: int,
    *,
    expected_access_token: str,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """Store a refreshed pair in one statement, only if the stored access token is still
    ``expected_access_token`` (the ciphertext read before refreshing); False when another
    refresh or a new consent got there first. A refreshed pair works: the connection is
    connected again if another process, refused the same refresh token a moment earlier
    (a platform that rotates them), marked it as needing the streamer meanwhile."""
    c = table.c
    result = conn.execute(
        sa.update(table)
        .where(c.guild_id == guild_id, c.access_token == expected_access_token)
        .values(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=expires_at,
            status=CONNECTED,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def mark_needs_reauth(
    conn: Connection, table: Table, guild_id: int, now: datetime, *, access_token: str | None
) -> bool:
    """Mark the connection as needing the streamer again, only while its access token is
    still ``access_token`` (the ciphertext that failed; None: whichever). False when a new
    pair replaced it meanwhile (another process's refresh, a new consent)."""
    c = table.c
    condition = c.guild_id == guild_id
    if access_token is not None:
        condition = sa.and_(condition, c.access_token == access_token)
    result = conn.execute(
        sa.update(table).where(condition).values(status=NEEDS_REAUTH, updated_at=now)
    )
    return result.rowcount == 1


def delete(conn: Connection, table: Table, guild_id: int) -> None:
    conn.execute(sa.delete(table).where(table.c.guild_id == guild_id))


def list_guild_ids(conn: Connection, table: Table, status: str) -> list[int]:
    query = sa.select(table.c.guild_id).where(table.c.status == status)
    return list(conn.execute(query.order_by(table.c.guild_id)).scalars())


def set_needs_sync(conn: Connection, table: Table, guild_id: int, needs_sync: bool) -> None:
    conn.execute(sa.update(table).where(table.c.guild_id == guild_id).values(needs_sync=needs_sync))


def list_guild_ids_needing_sync(conn: Connection, table: Table) -> list[int]:
    """The connected guilds whose subscriptions should be checked now (a connection that needs
    a new consent waits for it: the consent asks again)."""
    c = table.c
    query = sa.select(c.guild_id).where(c.needs_sync.is_(True), c.status == CONNECTED)
    return list(conn.execute(query.order_by(c.guild_id)).scalars())


def statuses_of_channel(
    conn: Connection, table: Table, broadcaster_user_id: str, guild_ids: list[int]
) -> dict[int, str]:
    """Of ``guild_ids``, those whose streamer connection is the channel ``broadcaster_user_id``,
    with the connection's status."""
    c = table.c
    query = sa.select(c.guild_id, c.status).where(
        c.guild_id.in_(guild_ids), c.broadcaster_user_id == broadcaster_user_id
    )
    return {row.guild_id: row.status for row in conn.execute(query)}
