"""The server directory's SQL: a server's roles and channels replaced whole, members upserted."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.directory.tables import (
    directory_channels,
    directory_guilds,
    directory_members,
    directory_roles,
)
from core.features.guilds.tables import guilds
from core.storage.db import insert_for

NAME_MAX = 100


TEXT_KINDS = ("text", "news", "thread")  # where a message can be posted
# A thread's name is kept after its channel's, this between: "general \u203a Giveaways".
THREAD_SEPARATOR = "\u203a"


@dataclass(frozen=True)
class Role:
    role_id: int
    name: str
    position: int
    color: int = 0
    assignable: bool = False
    is_default: bool = False


@dataclass(frozen=True)
class Channel:
    channel_id: int
    name: str
    kind: str
    position: int
    can_post: bool = False

    @property
    def takes_posts(self) -> bool:
        """A text channel or thread the bot may post in: what a channel picker offers."""
        return self.kind in TEXT_KINDS and self.can_post


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    avatar: str | None = None


@dataclass(frozen=True)
class Server:
    guild_id: int
    name: str
    icon: str | None = None
    can_manage_roles: bool | None = None


def save_server(conn: Connection, server: Server, now: datetime, *, from_bot: bool) -> None:
    """Upsert a server's row; a login's word (``from_bot`` False) leaves what the bot said of
    its permissions alone."""
    values = {"name": server.name[:NAME_MAX], "icon": server.icon, "updated_at": now}
    if from_bot:
        values["can_manage_roles"] = server.can_manage_roles
    stmt = insert_for(conn, directory_guilds).values(guild_id=server.guild_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["guild_id"], set_=values))


def replace_roles(conn: Connection, guild_id: int, roles: Sequence[Role]) -> None:
    _replace(conn, directory_roles, guild_id, roles)


def replace_channels(conn: Connection, guild_id: int, channels: Sequence[Channel]) -> None:
    _replace(conn, directory_channels, guild_id, channels)


def _replace(
    conn: Connection, table: sa.Table, guild_id: int, entries: Sequence[Role] | Sequence[Channel]
) -> None:
    conn.execute(sa.delete(table).where(table.c.guild_id == guild_id))
    rows = [
        {**asdict(entry), "guild_id": guild_id, "name": entry.name[:NAME_MAX]} for entry in entries
    ]
    if rows:
        conn.execute(sa.insert(table), rows)


def save_members(conn: Connection, guild_id: int, members: Sequence[Member], now: datetime) -> None:
    if not members:
        return
    m = directory_members.c
    stmt = insert_for(conn, directory_members)
    stmt = stmt.on_conflict_do_update(
        index_elements=[m.guild_id, m.user_id],
        set_={
            "name": stmt.excluded.name,
            "avatar": stmt.excluded.avatar,
            "seen_at": stmt.excluded.seen_at,
        },
    )
    rows = [
        {
            "guild_id": guild_id,
            "user_id": member.user_id,
            "name": member.name[:NAME_MAX],
            "avatar": member.avatar,
            "seen_at": now,
        }
        for member in members
    ]
    conn.execute(stmt, rows)


def drop_members_not_seen_since(conn: Connection, guild_id: int, since: datetime) -> None:
    m = directory_members.c
    conn.execute(sa.delete(directory_members).where(m.guild_id == guild_id, m.seen_at < since))


def drop_member(conn: Connection, guild_id: int, user_id: int) -> None:
    m = directory_members.c
    conn.execute(sa.delete(directory_members).where(m.guild_id == guild_id, m.user_id == user_id))


def drop_server(conn: Connection, guild_id: int) -> None:
    for table in (directory_members, directory_channels, directory_roles, directory_guilds):
        conn.execute(sa.delete(table).where(table.c.guild_id == guild_id))


def servers_described_by_bot(conn: Connection) -> set[int]:
    """Servers the bot itself recorded (a permission it has, or roles: a login writes neither),
    so servers it was in."""
    g = directory_guilds.c
    described = sa.select(g.guild_id).where(g.can_manage_roles.is_not(None))
    with_roles = sa.select(directory_roles.c.guild_id).distinct()
    return set(conn.execute(described.union(with_roles)).scalars())


def server(conn: Connection, guild_id: int) -> Server | None:
    g = directory_guilds.c
    row = conn.execute(
        sa.select(g.guild_id, g.name, g.icon, g.can_manage_roles).where(g.guild_id == guild_id)
    ).first()
    return None if row is None else Server(*row)


def server_names(conn: Connection, guild_ids: Collection[int]) -> dict[int, str]:
    """The name of each of these servers: as Discord last told it (the bot or a member's
    login), else the one stored when the bot was set up there; those with neither absent.
    Both read in one query."""
    ids = list(dict.fromkeys(guild_ids))
    told: dict[int, str] = {}
    stored: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # keeps the IN list within every backend's limits
        chunk = ids[start : start + 500]
        query = sa.union_all(
            sa.select(directory_guilds.c.guild_id, directory_guilds.c.name, sa.literal(True))
            .where(directory_guilds.c.guild_id.in_(chunk)),
            sa.select(guilds.c.guild_id, guilds.c.name, sa.literal(False))
            .where(guilds.c.guild_id.in_(chunk)),
        )  # fmt: skip
        for guild_id, name, from_discord in conn.execute(query):
            if name:
                (told if from_discord else stored)[guild_id] = name
    return {guild_id: told.get(guild_id) or stored[guild_id] for guild_id in told | stored}


def roles(conn: Connection, guild_id: int) -> list[Role]:
    r = directory_roles.c
    query = (
        sa.select(r.role_id, r.name, r.position, r.color, r.assignable, r.is_default)
        .where(r.guild_id == guild_id)
        .order_by(r.position.desc(), r.role_id)
    )
    return [Role(*row) for row in conn.execute(query)]


def channels(conn: Connection, guild_id: int) -> list[Channel]:
    c = directory_channels.c
    query = (
        sa.select(c.channel_id, c.name, c.kind, c.position, c.can_post)
        .where(c.guild_id == guild_id)
        .order_by(c.position, c.channel_id)
    )
    return [Channel(*row) for row in conn.execute(query)]


def guild_of_channel(conn: Connection, channel_id: int) -> int | None:
    """The server the directory holds ``channel_id`` in; None when it knows no such channel."""
    c = directory_channels.c
    return conn.execute(sa.select(c.guild_id).where(c.channel_id == channel_id).limit(1)).scalar()


def member_names(conn: Connection, guild_id: int, user_ids: Collection[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    m = directory_members.c
    query = sa.select(m.user_id, m.name).where(
        m.guild_id == guild_id, m.user_id.in_(sorted(set(user_ids)))
    )
    return {row.user_id: row.name for row in conn.execute(query)}


def member_avatars(conn: Connection, guild_id: int, user_ids: Collection[int]) -> dict[int, str]:
    """The members' avatars as the bot stored them (``<kind>:<key>``), for those it has one of."""
    if not user_ids:
        return {}
    m = directory_members.c
    query = sa.select(m.user_id, m.avatar).where(
        m.guild_id == guild_id, m.user_id.in_(sorted(set(user_ids))), m.avatar.is_not(None)
    )
    return {row.user_id: row.avatar for row in conn.execute(query)}
