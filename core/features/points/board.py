"""Reading balances with viewers' names: the leaderboard, look-ups by name, the export."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.chat_bots import ChatBots
from core.features.points.tables import points_accrual, points_balances
from core.features.viewers.bots import not_a_bot
from core.features.viewers.in_guild import CHATTED, ids_seen_in
from core.features.viewers.repository import usernames_of, with_usernames

# Where a viewer shows up once they were in a guild: chatted (presence), watched (watchtime),
# earned but not posted yet (accrual), or held points (a balance, given or imported too).
_SEEN_IN = (*CHATTED, points_accrual, points_balances)


@dataclass(frozen=True)
class BalanceRow:
    platform: Platform
    platform_user_id: str
    username: str
    points: int


@dataclass(frozen=True)
class RankedBalance:
    rank: int
    row: BalanceRow
    tied: bool = False  # another holder has as many

    @property
    def label(self) -> str:
        """``#3``, or ``=3`` for a rank shared with someone (as the other boards show it)."""
        return f"={self.rank}" if self.tied else f"#{self.rank}"


def _named(guild_id: int) -> sa.Select:
    b = points_balances
    joined, username = with_usernames(b)
    return (
        sa.select(b.c.platform, b.c.platform_user_id, username, b.c.points)
        .select_from(joined)
        .where(b.c.guild_id == guild_id)
        .order_by(b.c.points.desc(), b.c.platform, b.c.platform_user_id)
    )


def _row(row: sa.Row) -> BalanceRow:
    return BalanceRow(Platform(row.platform), row.platform_user_id, row.username, int(row.points))


def top(
    conn: Connection, guild_id: int, limit: int, offset: int = 0, bots: ChatBots | None = None
) -> list[RankedBalance]:
    """Holders of more than nothing, richest first; ties share the better rank. Chat ``bots``
    (:func:`core.features.viewers.bots.not_a_bot`) are neither listed nor counted, here and in
    :func:`rank_of` and :func:`count_holders`."""
    b = points_balances
    same = sa.func.count().over(partition_by=b.c.points).label("same")
    query = (
        _named(guild_id)
        .add_columns(same)
        .where(b.c.points > 0, not_a_bot(b, bots))
        .limit(limit)
        .offset(offset)
    )
    found = list(conn.execute(query))
    rows = [_row(row) for row in found]
    if not rows:
        return []
    # One count, whatever the page's size: the page is in order, so a balance lower than its
    # first row's is first met on the page, and everyone before that place has more.
    first_rank = rank_of(conn, guild_id, rows[0].points, bots)
    ranks: dict[int, int] = {rows[0].points: first_rank}
    for place, row in enumerate(rows, start=offset + 1):
        ranks.setdefault(row.points, place)
    return [
        RankedBalance(ranks[row.points], row, int(raw.same) > 1)
        for row, raw in zip(rows, found, strict=True)
    ]


def rank_of(conn: Connection, guild_id: int, points: int, bots: ChatBots | None = None) -> int:
    b = points_balances.c
    ahead = conn.execute(
        sa.select(sa.func.count()).where(
            b.guild_id == guild_id, b.points > points, not_a_bot(points_balances, bots)
        )
    ).scalar_one()
    return int(ahead) + 1


def place_of(conn: Connection, guild_id: int, points: int, bots: ChatBots | None = None) -> str:
    """The rank of a balance of ``points`` among the holders, ``#3`` or ``=3`` when shared."""
    b = points_balances.c
    ahead, same = conn.execute(
        sa.select(
            sa.func.count().filter(b.points > points), sa.func.count().filter(b.points == points)
        ).where(b.guild_id == guild_id, b.points > 0, not_a_bot(points_balances, bots))
    ).one()
    return f"={int(ahead) + 1}" if int(same) > 1 else f"#{int(ahead) + 1}"


def count_holders(conn: Connection, guild_id: int, bots: ChatBots | None = None) -> int:
    b = points_balances.c
    shown = not_a_bot(points_balances, bots)
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(b.guild_id == guild_id, b.points > 0, shown)
        ).scalar_one()
    )


def all_rows(conn: Connection, guild_id: int) -> list[BalanceRow]:
    return [_row(row) for row in conn.execute(_named(guild_id))]


def ids_by_name(conn: Connection, guild_id: int, platform: Platform, username: str) -> list[str]:
    """The viewers currently known by ``username`` who were seen in this guild. The names are
    every guild's (``viewers``): one known only in another guild is not this guild's to find,
    and an old name of someone else there must not stand beside this guild's viewer."""
    return ids_seen_in(conn, guild_id, platform, username, _SEEN_IN)


def name_of(conn: Connection, platform: Platform, platform_user_id: str) -> str | None:
    key = f"{platform}:{platform_user_id}"
    return usernames_of(conn, [(str(platform), platform_user_id)]).get(key)
