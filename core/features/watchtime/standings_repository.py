"""Watchtime standings: each viewer's total with their current name, the leaderboard's pages
and a viewer's rank (the totals themselves are written by the tick, ``repository.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.viewers.repository import with_usernames
from core.features.watchtime.tables import watchtime


@dataclass(frozen=True)
class WatchtimeRow:
    platform: Platform
    platform_user_id: str
    username: str
    seconds: int
    last_seen: datetime | None


def _rows_with_names(guild_id: int) -> sa.Select:
    w = watchtime
    joined, username = with_usernames(w)
    return (
        sa.select(w.c.platform, w.c.platform_user_id, username, w.c.seconds, w.c.last_seen)
        .select_from(joined)
        .where(w.c.guild_id == guild_id)
    )


def list_top_viewers(
    conn: Connection, guild_id: int, limit: int, offset: int = 0
) -> list[WatchtimeRow]:
    query = (
        _rows_with_names(guild_id)
        .order_by(watchtime.c.seconds.desc(), watchtime.c.platform_user_id)
        .limit(limit)
        .offset(offset)
    )
    return [_row(row) for row in conn.execute(query)]


def list_all_viewers(conn: Connection, guild_id: int) -> list[WatchtimeRow]:
    query = _rows_with_names(guild_id).order_by(
        watchtime.c.seconds.desc(), watchtime.c.platform_user_id
    )
    return [_row(row) for row in conn.execute(query)]


def get_viewer(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str
) -> WatchtimeRow | None:
    query = _rows_with_names(guild_id).where(
        watchtime.c.platform == str(platform), watchtime.c.platform_user_id == platform_user_id
    )
    row = conn.execute(query).first()
    return None if row is None else _row(row)


def count_viewers_ahead(conn: Connection, guild_id: int, seconds: int) -> int:
    query = sa.select(sa.func.count()).where(
        watchtime.c.guild_id == guild_id, watchtime.c.seconds > seconds
    )
    return int(conn.execute(query).scalar_one())


def count_viewers(conn: Connection, guild_id: int) -> int:
    query = sa.select(sa.func.count()).where(watchtime.c.guild_id == guild_id)
    return int(conn.execute(query).scalar_one())


def _row(row: sa.Row) -> WatchtimeRow:
    return WatchtimeRow(
        platform=Platform(row.platform),
        platform_user_id=row.platform_user_id,
        username=row.username,
        seconds=int(row.seconds),
        last_seen=row.last_seen,
    )
