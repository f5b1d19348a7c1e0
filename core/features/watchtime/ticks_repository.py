"""The watchtime tick of many guilds at once: a handful of statements for a batch of guilds
instead of seven round trips per guild (issue 26, "tick cost").

Each guild's clock still moves by its own compare-and-set (``WITH moves AS (VALUES ...) UPDATE
... FROM moves WHERE last_tick_at = <the guild's previous>``), so a guild another process ticked
for this instant is left out of the credit, exactly as in ``repository.advance_tick``. Present
viewers are those of ``repository.present_in``, for the guilds that advanced. Points for watching
read many guilds' tick states and credited crowds here too (``tick_states_of``,
``credited_at_many``), and points for chatting whether a channel was live (``streams_of``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import utc
from core.features.watchtime.repository import _KEEP_ROWCOUNT, TickState, present_in
from core.features.watchtime.tables import watch_presence, watch_settings, watch_streams, watchtime


@dataclass(frozen=True)
class GuildClock:
    guild_id: int
    tracking_enabled: bool
    last_tick_at: datetime | None


def clocks_of(
    conn: Connection, guild_ids: Sequence[int], *, skip_held: bool = False
) -> dict[int, GuildClock]:
    """The guilds' tick clocks (a guild without a row has never ticked: tracking on).

    ``skip_held`` (PostgreSQL; SQLite has one writer at a time): the clocks are locked for this
    transaction, and a guild whose clock another transaction holds locked is left out, without
    waiting: its tick is under way elsewhere, or that transaction is stuck (a killed process's,
    until PostgreSQL ends it). The caller tries that guild again."""
    ws = watch_settings.c
    in_guilds = ws.guild_id.in_(guild_ids)
    query = sa.select(ws.guild_id, ws.tracking_enabled, ws.last_tick_at).where(in_guilds)
    existing: set[int] = set()
    if skip_held and conn.dialect.name == "postgresql":
        existing = set(conn.execute(sa.select(ws.guild_id).where(in_guilds)).scalars())
        query = query.with_for_update(skip_locked=True)
    found = {
        row.guild_id: GuildClock(row.guild_id, bool(row.tracking_enabled), row.last_tick_at)
        for row in conn.execute(query)
    }
    held = existing - found.keys()
    return {g: found.get(g, GuildClock(g, True, None)) for g in guild_ids if g not in held}


def advance_many(
    conn: Connection, moves: Sequence[tuple[int, datetime, int]], now: datetime
) -> set[int]:
    """Move each ``(guild, previous, seconds)`` guild's clock from ``previous`` to ``now`` in one
    statement; the guilds whose clock moved (another process may have moved the others)."""
    if not moves:
        return set()
    ws = watch_settings
    # A common table expression (WITH moves(...) AS (VALUES ...)): SQLite has no column list
    # on a VALUES alias in FROM, and both read this one the same.
    given = (
        sa.values(
            sa.column("guild_id", ws.c.guild_id.type),
            sa.column("previous", ws.c.last_tick_at.type),
            sa.column("seconds", ws.c.last_tick_seconds.type),
            name="moves",
        )
        .data(list(moves))
        .cte("moves")
    )
    moved = conn.execute(
        sa.update(ws)
        .where(ws.c.guild_id == given.c.guild_id, ws.c.last_tick_at == given.c.previous)
        .values(last_tick_at=now, last_tick_seconds=given.c.seconds)
        .returning(ws.c.guild_id)
    )
    return set(moved.scalars())


def credit_many(
    conn: Connection, guild_ids: Sequence[int], active_since: datetime, seconds: int, now: datetime
) -> dict[int, int]:
    """Add ``seconds`` to every present viewer of ``guild_ids``; how many gained it per guild.
    Three statements whatever the number of guilds and viewers (a count, an UPDATE of those
    with a total, an INSERT of those without)."""
    if not guild_ids or seconds <= 0:
        return {}
    p, w = watch_presence.c, watchtime
    in_guilds = p.guild_id.in_(guild_ids)
    present = present_in(
        sa.select(p.guild_id, p.platform, p.platform_user_id), in_guilds, active_since, now
    ).distinct()
    counted = present.subquery()
    counts = dict(
        conn.execute(
            sa.select(counted.c.guild_id, sa.func.count()).group_by(counted.c.guild_id)
        ).all()
    )
    if not counts:
        return {}
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")  # see credit_present_viewers
    conn.execute(
        sa.update(w)
        .where(sa.tuple_(w.c.guild_id, w.c.platform, w.c.platform_user_id).in_(present))
        .values(seconds=w.c.seconds + seconds, last_seen=now)
    )
    newcomers = present.subquery()
    has_total = sa.exists().where(
        w.c.guild_id == newcomers.c.guild_id,
        w.c.platform == newcomers.c.platform,
        w.c.platform_user_id == newcomers.c.platform_user_id,
    )
    conn.execute(
        w.insert().from_select(
            ["guild_id", "platform", "platform_user_id", "seconds", "last_seen"],
            sa.select(
                newcomers.c.guild_id,
                newcomers.c.platform,
                newcomers.c.platform_user_id,
                sa.literal(seconds, w.c.seconds.type),
                sa.literal(now, w.c.last_seen.type),
            ).where(~has_total),
        ),
        execution_options=_KEEP_ROWCOUNT,
    )
    return counts


def forget_presence_many(conn: Connection, guild_ids: Sequence[int], before: datetime) -> None:
    if guild_ids:
        conn.execute(
            sa.delete(watch_presence).where(
                watch_presence.c.guild_id.in_(guild_ids), watch_presence.c.last_active_at < before
            )
        )


def tick_states_of(conn: Connection, guild_ids: Sequence[int]) -> dict[int, TickState]:
    """``repository.get_tick_state`` for many guilds with one statement (points for watching
    read what each guild's latest tick credited)."""
    ws = watch_settings.c
    rows = conn.execute(
        sa.select(ws.guild_id, ws.tracking_enabled, ws.last_tick_at, ws.last_tick_seconds).where(
            ws.guild_id.in_(guild_ids)
        )
    )
    found = {
        row.guild_id: TickState(
            bool(row.tracking_enabled), row.last_tick_at, row.last_tick_seconds or 0
        )
        for row in rows
    }
    return {g: found.get(g, TickState(tracking_enabled=True, last_tick_at=None)) for g in guild_ids}


def credited_at_many(
    conn: Connection, moments: Mapping[int, datetime]
) -> dict[int, list[tuple[str, str]]]:
    """``repository.credited_at`` for many ``{guild: tick instant}`` with one statement: each
    guild's viewers whose ``last_seen`` is its tick's instant, in key order."""
    found: dict[int, list[tuple[str, str]]] = {g: [] for g in moments}
    if not moments:
        return found
    w = watchtime.c
    ticks = (
        sa.values(
            sa.column("guild_id", w.guild_id.type),
            sa.column("at", w.last_seen.type),
            name="ticks",
        )
        .data(list(moments.items()))
        .cte("ticks")
    )
    rows = conn.execute(
        sa.select(w.guild_id, w.platform, w.platform_user_id)
        .select_from(watchtime.join(ticks, w.guild_id == ticks.c.guild_id))
        .where(w.last_seen == ticks.c.at)
        .order_by(w.guild_id, w.platform, w.platform_user_id)
    )
    for row in rows:
        found[row.guild_id].append((row.platform, row.platform_user_id))
    return found


@dataclass(frozen=True)
class StreamState:
    is_live: bool
    changed_at: datetime

    def live_at(self, at: datetime) -> bool:
        """Whether the channel was live at ``at``, by the rule a tick counts presence with
        (``repository.present_in``): live since before it, or offline only since it."""
        if self.is_live:
            return utc(self.changed_at) < utc(at)
        return utc(self.changed_at) >= utc(at)


def streams_of(
    conn: Connection, guild_ids: Sequence[int]
) -> dict[tuple[int, str, str], StreamState]:
    """``(guild, platform, broadcaster user id)`` -> the channel's live state, for the
    channels of ``guild_ids`` whose state was seen (one never seen counts as live)."""
    s = watch_streams.c
    rows = conn.execute(
        sa.select(s.guild_id, s.platform, s.broadcaster_user_id, s.is_live, s.changed_at).where(
            s.guild_id.in_(guild_ids)
        )
    )
    return {
        (row.guild_id, str(row.platform), row.broadcaster_user_id): StreamState(
            bool(row.is_live), row.changed_at
        )
        for row in rows
    }
