"""Watchtime standings: each viewer's total with their current name, the leaderboard's pages
and a viewer's rank (the totals themselves are written by the tick, ``repository.py``).

One tie rule everywhere: viewers with equal watchtime share the rank of the first of them
("=3", "=3", then 5), on the leaderboard and in ``!watchtime`` alike. Chat ``bots``
(:func:`core.features.viewers.bots.not_a_bot`) are neither listed nor counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.chat_bots import ChatBots
from core.features.viewers.bots import not_a_bot
from core.features.viewers.repository import with_usernames
from core.features.watchtime.tables import watchtime


@dataclass(frozen=True)
class WatchtimeRow:
    platform: Platform
    platform_user_id: str
    username: str
    seconds: int
    last_seen: datetime | None


@dataclass(frozen=True)
class RankedWatchtime:
    rank: int  # 1 + how many viewers have more watchtime
    entry: WatchtimeRow
    tied: bool = False  # another viewer has the same watchtime

    @property
    def label(self) -> str:
        """``#3``, or ``=3`` for a rank shared with someone."""
        return f"={self.rank}" if self.tied else f"#{self.rank}"


# Most first; among equals a fixed order, the platform too (a Kick and a Twitch account may share
# a user id), so that pages of ties show each viewer once.
_BOARD_ORDER = (watchtime.c.seconds.desc(), watchtime.c.platform, watchtime.c.platform_user_id)


def _rows_with_names(guild_id: int, bots: ChatBots | None = None) -> sa.Select:
    w = watchtime
    joined, username = with_usernames(w)
    return (
        sa.select(w.c.platform, w.c.platform_user_id, username, w.c.seconds, w.c.last_seen)
        .select_from(joined)
        .where(w.c.guild_id == guild_id, not_a_bot(w, bots))
    )


def list_ranked_viewers(
    conn: Connection, guild_id: int, limit: int, offset: int = 0, bots: ChatBots | None = None
) -> list[RankedWatchtime]:
    """A page of the leaderboard, each viewer with their rank under the tie rule."""
    seconds = watchtime.c.seconds
    rank = sa.func.rank().over(order_by=seconds.desc()).label("rank")
    same = sa.func.count().over(partition_by=seconds).label("same")
    query = (
        _rows_with_names(guild_id, bots)
        .add_columns(rank, same)
        .order_by(*_BOARD_ORDER)
        .limit(limit)
        .offset(offset)
    )
    return [
        RankedWatchtime(int(row.rank), _row(row), int(row.same) > 1) for row in conn.execute(query)
    ]


def ranked(
    conn: Connection, guild_id: int, row: WatchtimeRow, bots: ChatBots | None = None
) -> RankedWatchtime:
    """``row`` with its rank under the tie rule."""
    seconds = watchtime.c.seconds
    query = sa.select(
        sa.func.count().filter(seconds > row.seconds),
        sa.func.count().filter(seconds == row.seconds),
    ).where(watchtime.c.guild_id == guild_id, not_a_bot(watchtime, bots))
    ahead, same = conn.execute(query).one()
    return RankedWatchtime(int(ahead) + 1, row, int(same) > 1)


@dataclass(frozen=True)
class AccountWatchtime:
    guild_id: int
    platform: Platform
    platform_user_id: str
    seconds: int
    rank: int  # as :func:`ranked` counts it


def list_ranked_of_accounts(
    conn: Connection, accounts: Sequence[tuple[str, str]], bots: ChatBots | None = None
) -> list[AccountWatchtime]:
    """These viewers' watchtime, ``(platform, platform_user_id)``, in every guild where they
    have some, each with their rank there: one statement however many guilds there are."""
    if not accounts:
        return []
    mine, other = watchtime.alias("mine"), watchtime.alias("other")
    ahead = (
        sa.select(sa.func.count())
        .where(
            other.c.guild_id == mine.c.guild_id,
            other.c.seconds > mine.c.seconds,
            not_a_bot(other, bots),
        )
        .scalar_subquery()
    )
    query = sa.select(
        mine.c.guild_id, mine.c.platform, mine.c.platform_user_id, mine.c.seconds, ahead
    ).where(sa.tuple_(mine.c.platform, mine.c.platform_user_id).in_(list(accounts)))
    return [
        AccountWatchtime(row[0], Platform(row[1]), row[2], int(row[3]), int(row[4]) + 1)
        for row in conn.execute(query)
    ]


def list_all_viewers(conn: Connection, guild_id: int) -> list[WatchtimeRow]:
    query = _rows_with_names(guild_id).order_by(*_BOARD_ORDER)
    return [_row(row) for row in conn.execute(query)]


def get_viewer(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str
) -> WatchtimeRow | None:
    query = _rows_with_names(guild_id).where(
        watchtime.c.platform == str(platform), watchtime.c.platform_user_id == platform_user_id
    )
    row = conn.execute(query).first()
    return None if row is None else _row(row)


def count_viewers(conn: Connection, guild_id: int, bots: ChatBots | None = None) -> int:
    query = sa.select(sa.func.count()).where(
        watchtime.c.guild_id == guild_id, not_a_bot(watchtime, bots)
    )
    return int(conn.execute(query).scalar_one())


def _row(row: sa.Row) -> WatchtimeRow:
    return WatchtimeRow(
        platform=Platform(row.platform),
        platform_user_id=row.platform_user_id,
        username=row.username,
        seconds=int(row.seconds),
        last_seen=row.last_seen,
    )
