"""Each guild's earning rates (points_settings), with their limits and defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.points.tables import points_settings
from core.storage.db import insert_for


@dataclass(frozen=True)
class Rates:
    watch_rate: int = 1  # points per present minute
    sub_rate: int = 2  # the same, for a subscriber
    chat_points: int = 1  # points per counted chat message
    chat_cap: int = 20  # counted chat messages per viewer per hour
    post_minutes: int = 30  # earnings are posted to the ledger once per window of this many


# The names streamers type (`!points rate watch 2`), the column each sets, and its bounds.
RATE_NAMES: dict[str, tuple[str, int, int]] = {
    "watch": ("watch_rate", 0, 1000),
    "sub": ("sub_rate", 0, 1000),
    "chat": ("chat_points", 0, 1000),
    "chatcap": ("chat_cap", 0, 1000),
    "window": ("post_minutes", 1, 1440),
}
RATE_HELP = {
    "watch": "points per present minute",
    "sub": "points per present minute for subscribers",
    "chat": "points per chat message",
    "chatcap": "chat messages counted per viewer per hour",
    "window": "minutes between ledger postings of earnings",
}
# What the dashboard calls each rate (the names above are what streamers type in chat).
RATE_LABELS = {
    "watch": "Watching",
    "sub": "Watching, for subscribers",
    "chat": "Chatting",
    "chatcap": "Chat messages counted",
    "window": "Posting interval",
}


def rate_label(name: str) -> str:
    """A rate's name on the dashboard ("That rate" for a name that is none)."""
    return RATE_LABELS.get(name.strip().casefold(), "That rate")


_COLUMNS = [field.name for field in fields(Rates)]


def named_rates(rates: Rates) -> list[tuple[str, int, str]]:
    """Each rate as streamers know it: (the name they type, its value, what it means)."""
    return [
        (name, getattr(rates, column), RATE_HELP[name])
        for name, (column, _low, _high) in RATE_NAMES.items()
    ]


# Built once: read for every chat message (the statement's cache key is then all it costs).
_READ = sa.select(*(points_settings.c[name] for name in _COLUMNS)).where(
    points_settings.c.guild_id == sa.bindparam("guild_id")
)


def read_rates(conn: Connection, guild_id: int) -> Rates:
    row = conn.execute(_READ, {"guild_id": guild_id}).first()
    return Rates() if row is None else Rates(**row._asdict())


def read_rates_many(conn: Connection, guild_ids: list[int]) -> dict[int, Rates]:
    """``read_rates`` for many guilds in one statement."""
    table = points_settings
    found = {
        row.guild_id: Rates(**{name: getattr(row, name) for name in _COLUMNS})
        for row in conn.execute(
            sa.select(table.c.guild_id, *(table.c[name] for name in _COLUMNS)).where(
                table.c.guild_id.in_(guild_ids)
            )
        )
    }
    return {guild_id: found.get(guild_id, Rates()) for guild_id in guild_ids}


def write_rate(conn: Connection, guild_id: int, column: str, value: int, at: datetime) -> Rates:
    if column not in _COLUMNS:
        raise ValueError(f"no rate {column!r}")
    stmt = insert_for(conn, points_settings).values(
        guild_id=guild_id, updated_at=at, **{column: value}
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[points_settings.c.guild_id], set_={column: value, "updated_at": at}
        )
    )
    return read_rates(conn, guild_id)
