"""Guilds (tenants) and the platform channels each one tracks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.guilds.tables import guild_channels, guilds
from core.storage.db import insert_for


@dataclass(frozen=True)
class TrackedChannel:
    guild_id: int
    platform: Platform
    channel_slug: str
    broadcaster_user_id: str
    channel_id: int | None = None  # Kick's internal ids, for the Pusher socket only
    chatroom_id: int | None = None


def ensure_guild(conn: Connection, guild_id: int, now: datetime, name: str | None = None) -> None:
    stmt = insert_for(conn, guilds).values(guild_id=guild_id, name=name, created_at=now)
    if name is None:
        conn.execute(stmt.on_conflict_do_nothing())
    else:
        conn.execute(
            stmt.on_conflict_do_update(index_elements=[guilds.c.guild_id], set_={"name": name})
        )


def guild_exists(conn: Connection, guild_id: int) -> bool:
    query = sa.select(guilds.c.guild_id).where(guilds.c.guild_id == guild_id)
    return conn.execute(query).first() is not None


def get_guild_name(conn: Connection, guild_id: int) -> str | None:
    query = sa.select(guilds.c.name).where(guilds.c.guild_id == guild_id)
    return conn.execute(query).scalar_one_or_none()


def mark_left(conn: Connection, guild_id: int, at: datetime) -> None:
    """Record when the bot was removed from the guild; a guild already left keeps its first
    date, and a guild with no row (never set up) has nothing to mark."""
    query = (
        sa.update(guilds)
        .where(guilds.c.guild_id == guild_id, guilds.c.left_at.is_(None))
        .values(left_at=at)
    )
    conn.execute(query)


def clear_left(conn: Connection, guild_id: int) -> None:
    query = (
        sa.update(guilds)
        .where(guilds.c.guild_id == guild_id, guilds.c.left_at.is_not(None))
        .values(left_at=None)
    )
    conn.execute(query)


def get_left_at(conn: Connection, guild_id: int) -> datetime | None:
    query = sa.select(guilds.c.left_at).where(guilds.c.guild_id == guild_id)
    return conn.execute(query).scalar_one_or_none()


def list_left_guild_ids(conn: Connection) -> set[int]:
    query = sa.select(guilds.c.guild_id).where(guilds.c.left_at.is_not(None))
    return set(conn.execute(query).scalars())


def set_channel(conn: Connection, channel: TrackedChannel, now: datetime) -> None:
    """Make ``channel`` the guild's channel on its platform, replacing any earlier one."""
    stmt = insert_for(conn, guild_channels).values(
        guild_id=channel.guild_id,
        platform=str(channel.platform),
        channel_slug=channel.channel_slug,
        broadcaster_user_id=channel.broadcaster_user_id,
        channel_id=channel.channel_id,
        chatroom_id=channel.chatroom_id,
        created_at=now,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[guild_channels.c.guild_id, guild_channels.c.platform],
            set_={
                "channel_slug": stmt.excluded.channel_slug,
                "broadcaster_user_id": stmt.excluded.broadcaster_user_id,
                "channel_id": stmt.excluded.channel_id,
                "chatroom_id": stmt.excluded.chatroom_id,
            },
        )
    )


def list_channels_of_guild(conn: Connection, guild_id: int) -> list[TrackedChannel]:
    query = (
        sa.select(guild_channels)
        .where(guild_channels.c.guild_id == guild_id)
        .order_by(guild_channels.c.platform)
    )
    return [_channel(row) for row in conn.execute(query)]


def list_guild_ids_tracking(
    conn: Connection,
    platform: Platform,
    broadcaster_user_id: str,
    *,
    chatroom_id: int | None = None,
) -> list[int]:
    """Guilds that follow the broadcaster; with ``chatroom_id``, only those that chose it."""
    query = (
        sa.select(guild_channels.c.guild_id)
        .where(
            guild_channels.c.platform == str(platform),
            guild_channels.c.broadcaster_user_id == broadcaster_user_id,
        )
        .order_by(guild_channels.c.guild_id)
    )
    if chatroom_id is not None:
        query = query.where(guild_channels.c.chatroom_id == chatroom_id)
    return list(conn.execute(query).scalars())


def list_all_channels(conn: Connection, platform: Platform) -> list[TrackedChannel]:
    query = (
        sa.select(guild_channels)
        .where(guild_channels.c.platform == str(platform))
        .order_by(guild_channels.c.guild_id)
    )
    return [_channel(row) for row in conn.execute(query)]


def list_served(conn: Connection, guild_ids: Collection[int]) -> set[int]:
    """Which of ``guild_ids`` have a row (the bot serves them)."""
    wanted = sorted(set(guild_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 500):  # within every database's bound parameters
        part = wanted[start : start + 500]
        query = sa.select(guilds.c.guild_id).where(guilds.c.guild_id.in_(part))
        found.update(conn.execute(query).scalars())
    return found


def list_guild_ids(conn: Connection) -> list[int]:
    return list(conn.execute(sa.select(guilds.c.guild_id).order_by(guilds.c.guild_id)).scalars())


def _channel(row: sa.Row) -> TrackedChannel:
    return TrackedChannel(
        guild_id=row.guild_id,
        platform=Platform(row.platform),
        channel_slug=row.channel_slug,
        broadcaster_user_id=row.broadcaster_user_id,
        channel_id=row.channel_id,
        chatroom_id=row.chatroom_id,
    )
