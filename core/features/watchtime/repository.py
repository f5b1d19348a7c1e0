"""Watchtime tables: presence (who chatted when), stream state, totals and per-guild settings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.watchtime.tables import watch_presence, watch_settings, watch_streams, watchtime
from core.storage.db import insert_for

# SQLAlchemy keeps ``rowcount`` only for UPDATE and DELETE; psycopg 3 reports -1 for an INSERT
# once the cursor is closed. Upserts whose rowcount matters must ask for it to be kept.
_KEEP_ROWCOUNT = {"preserve_rowcount": True}


@dataclass(frozen=True)
class TickState:
    tracking_enabled: bool
    last_tick_at: datetime | None
    last_tick_seconds: int = 0  # what the tick at last_tick_at credited each present viewer


# SQL text, so SQLAlchemy compiles it once (the dialects' ``insert().on_conflict_do_update()``
# has no cache key and was compiled again for every chat message); the same SQL on SQLite and
# PostgreSQL, values bound through the columns' types.
#
# A viewer is present at a tick instant X when they were active at some moment in [X - W, X)
# (W: the active window). Each activity ``a`` makes the viewer present for the instants in
# (a, a + W], and activities less than W apart chain into one *run*: present for (first, last +
# W]. A row keeps the run of the viewer's latest activity, ``active_since`` to
# ``last_active_at``, and ``earlier_active_at``, the latest activity of an earlier run. So a tick
# for any instant up to a window before the latest activity handled sees exactly the crowd it
# would have seen on time (a takeover or a barrier can make a tick several intervals late). Each
# message moves the row by one of three rules, in any order of delivery:
#   - after a silence longer than W: a new run starts; the old run's end becomes the earlier;
#   - within W of the run: the run grows to cover it;
#   - more than W before the run (a late delivery): it is an earlier run's activity.
# :a_after and :a_before are the message's moment minus and plus W. A row without
# ``active_since`` (written before runs were kept) is a run of its ``last_active_at`` alone.
_PRESENCE_COLUMNS = (
    "guild_id",
    "platform",
    "broadcaster_user_id",
    "platform_user_id",
    "last_active_at",
)
_RUN_START = "COALESCE(watch_presence.active_since, watch_presence.last_active_at)"
_NEW_RUN = "watch_presence.last_active_at < :a_after"
_EARLIER_RUN = f"{_RUN_START} > :a_before"
_MARK_PRESENT = sa.text(f"""
INSERT INTO watch_presence (guild_id, platform, broadcaster_user_id, platform_user_id,
                            last_active_at, active_since)
VALUES (:guild_id, :platform, :broadcaster_user_id, :platform_user_id, :last_active_at,
        :last_active_at)
ON CONFLICT (guild_id, platform, platform_user_id, broadcaster_user_id)
DO UPDATE SET
  earlier_active_at = CASE
    WHEN {_NEW_RUN} THEN watch_presence.last_active_at
    WHEN {_EARLIER_RUN}
         AND (watch_presence.earlier_active_at IS NULL
              OR watch_presence.earlier_active_at < excluded.last_active_at)
      THEN excluded.last_active_at
    ELSE watch_presence.earlier_active_at END,
  active_since = CASE
    WHEN {_NEW_RUN} THEN excluded.last_active_at
    WHEN {_EARLIER_RUN} THEN watch_presence.active_since
    WHEN excluded.last_active_at < {_RUN_START} THEN excluded.last_active_at
    ELSE {_RUN_START} END,
  last_active_at = CASE
    WHEN {_EARLIER_RUN} THEN watch_presence.last_active_at
    WHEN excluded.last_active_at > watch_presence.last_active_at THEN excluded.last_active_at
    ELSE watch_presence.last_active_at END
WHERE watch_presence.last_active_at < excluded.last_active_at
   OR {_RUN_START} > excluded.last_active_at
""").bindparams(  # noqa: S608 - the interpolations are the constants above
    *(sa.bindparam(name, type_=watch_presence.c[name].type) for name in _PRESENCE_COLUMNS),
    sa.bindparam("a_after", type_=watch_presence.c.last_active_at.type),
    sa.bindparam("a_before", type_=watch_presence.c.last_active_at.type),
)


@dataclass(frozen=True)
class Presence:
    """One chat message's presence: who chatted in which of the guild's channels, and when."""

    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    platform_user_id: str
    active_at: datetime


def tick_bucket(moment: datetime, interval_seconds: int) -> int:
    """The tick instant (epoch seconds, a multiple of the interval) that first counts
    ``moment``: the first strictly after it. Activity at the very instant of a tick belongs to
    the next one, however late either runs (platforms give whole seconds: a chat stamped
    20:01:00 may have been said at 20:01:00.7), and the barrier of a tick waits for the presence
    events stamped before its instant (``core/guild_ticks.py``): one rule for both."""
    return (math.floor(moment.timestamp()) // interval_seconds + 1) * interval_seconds


def mark_present_many(conn: Connection, seen: Sequence[Presence], window: timedelta) -> None:
    """Record many chat messages' activity with one statement (``window``: the active window;
    whatever the order of the messages, the rows end the same)."""
    rows = [
        {
            "guild_id": p.guild_id,
            "platform": str(p.platform),
            "broadcaster_user_id": p.broadcaster_user_id,
            "platform_user_id": p.platform_user_id,
            "last_active_at": p.active_at,
            "a_after": p.active_at - window,
            "a_before": p.active_at + window,
        }
        for p in seen
    ]
    if rows:
        conn.execute(_MARK_PRESENT, rows)


_SET_STREAM_STATE = sa.text("""
INSERT INTO watch_streams
    (guild_id, platform, broadcaster_user_id, is_live, changed_at, started_at)
VALUES (:guild_id, :platform, :broadcaster_user_id, :is_live, :changed_at, :started_at)
ON CONFLICT (guild_id, platform, broadcaster_user_id)
DO UPDATE SET
    is_live = excluded.is_live,
    changed_at = CASE WHEN watch_streams.is_live = excluded.is_live
        THEN watch_streams.changed_at ELSE excluded.changed_at END,
    started_at = COALESCE(excluded.started_at, watch_streams.started_at)
WHERE (watch_streams.is_live <> excluded.is_live
       AND watch_streams.changed_at <= excluded.changed_at
       AND (watch_streams.started_at IS NULL OR watch_streams.started_at <= excluded.changed_at))
   OR (watch_streams.is_live = excluded.is_live
       AND excluded.started_at IS NOT NULL
       AND (watch_streams.started_at IS NULL OR watch_streams.started_at < excluded.started_at))
""").bindparams(
    *(
        sa.bindparam(name, type_=watch_streams.c[name].type)
        for name in (
            "guild_id",
            "platform",
            "broadcaster_user_id",
            "is_live",
            "changed_at",
            "started_at",
        )
    )
)


def set_stream_state(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    broadcaster_user_id: str,
    is_live: bool,
    changed_at: datetime,
) -> bool:
    """Store a change between live and offline, unless a later change is already stored
    (deliveries can arrive late); whether anything was stored.

    Another copy of the stored state (Pusher's time-less StopStreamBroadcast, stamped when
    received, after the webhook's ``ended_at``) changes nothing: ``changed_at`` stays the
    moment the state began, which the ticks read. A start while live is a new stream whose
    end we never heard (or a copy): its time is kept as ``started_at``, the latest start
    heard, and no end from before it applies (Twitch delivers a stream's ``stream.offline``
    after the next stream's ``stream.online`` when the streamer goes live again at once)."""
    stored = conn.execute(
        _SET_STREAM_STATE,
        {
            "guild_id": guild_id,
            "platform": str(platform),
            "broadcaster_user_id": broadcaster_user_id,
            "is_live": is_live,
            "changed_at": changed_at,
            "started_at": changed_at if is_live else None,
        },
    )
    return stored.rowcount > 0


def is_start_told_late(
    conn: Connection, guild_id: int, platform: Platform, broadcaster_user_id: str, began: datetime
) -> bool:
    """Whether a stream start at ``began`` is old news for the guild's channel: a later start,
    or an end after it, is stored (the rule :func:`set_stream_state` keeps)."""
    s = watch_streams.c
    row = conn.execute(
        sa.select(s.is_live, s.changed_at, s.started_at).where(
            s.guild_id == guild_id,
            s.platform == str(platform),
            s.broadcaster_user_id == broadcaster_user_id,
        )
    ).first()
    if row is None:
        return False
    if row.started_at is not None and utc(row.started_at) > began:
        return True  # a newer stream started
    return not row.is_live and utc(row.changed_at) > began  # this stream ended already


def get_tick_state(conn: Connection, guild_id: int) -> TickState:
    row = conn.execute(
        sa.select(
            watch_settings.c.tracking_enabled,
            watch_settings.c.last_tick_at,
            watch_settings.c.last_tick_seconds,
        ).where(watch_settings.c.guild_id == guild_id)
    ).first()
    if row is None:
        return TickState(tracking_enabled=True, last_tick_at=None)
    return TickState(bool(row.tracking_enabled), row.last_tick_at, row.last_tick_seconds or 0)


def set_tracking(conn: Connection, guild_id: int, enabled: bool) -> None:
    stmt = insert_for(conn, watch_settings).values(guild_id=guild_id, tracking_enabled=enabled)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[watch_settings.c.guild_id], set_={"tracking_enabled": enabled}
        )
    )


def advance_tick(
    conn: Connection, guild_id: int, previous: datetime | None, now: datetime, seconds: int
) -> bool:
    """Move the guild's last tick from ``previous`` to ``now``, which credits ``seconds`` to
    each present viewer; False if another process did."""
    if previous is None:
        stmt = insert_for(conn, watch_settings).values(
            guild_id=guild_id, last_tick_at=now, last_tick_seconds=seconds
        )
        claimed = conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[watch_settings.c.guild_id],
                set_={"last_tick_at": now, "last_tick_seconds": seconds},
                where=watch_settings.c.last_tick_at.is_(None),
            ),
            execution_options=_KEEP_ROWCOUNT,
        )
        return claimed.rowcount == 1
    result = conn.execute(
        sa.update(watch_settings)
        .where(watch_settings.c.guild_id == guild_id, watch_settings.c.last_tick_at == previous)
        .values(last_tick_at=now, last_tick_seconds=seconds)
    )
    return result.rowcount == 1


def restart_clock(conn: Connection, guild_id: int, now: datetime) -> None:
    """Move the guild's last tick forward to ``now`` (never back), so earlier time is not credited.

    A tick that read the old value loses its compare-and-set and credits nothing.
    """
    conn.execute(
        sa.update(watch_settings)
        .where(watch_settings.c.guild_id == guild_id, watch_settings.c.last_tick_at < now)
        .values(last_tick_at=now, last_tick_seconds=0)
    )


def _present_viewers(guild_id: int, active_since: datetime, at: datetime | None) -> sa.Select:
    """Viewers who chatted between ``active_since`` and ``at`` in a channel of the guild that
    was live at ``at``: what a tick for the instant ``at`` counts, however late it runs.

    Activity at or after ``at`` never counts (:func:`tick_bucket`); a viewer whose latest
    activity came later counts by the run of activity it belongs to, or the earlier run
    (``_MARK_PRESENT``): exact for a tick up to a whole window late. A channel whose live status
    was never seen counts as live, and so does one that went offline at or after ``at``; one
    that went live at or after ``at`` does not (it was offline then, and the tick's whole
    interval before it). A
    viewer who chatted in two of the guild's channels (briefly possible after a channel change)
    appears twice. ``at`` None: present now (whoever chatted since ``active_since``, live now).
    """
    p = watch_presence.c
    return present_in(
        sa.select(p.platform, p.platform_user_id), p.guild_id == guild_id, active_since, at
    )


def present_in(
    query: sa.Select, guilds: sa.ColumnElement[bool], active_since: datetime, at: datetime | None
) -> sa.Select:
    """``query`` (columns of ``watch_presence``) over the present viewers of ``guilds`` (a
    condition on ``watch_presence.guild_id``), as :func:`_present_viewers` says."""
    p, s = watch_presence, watch_streams
    joined = p.outerjoin(
        s,
        sa.and_(
            s.c.guild_id == p.c.guild_id,
            s.c.platform == p.c.platform,
            s.c.broadcaster_user_id == p.c.broadcaster_user_id,
        ),
    )
    query = query.select_from(joined).where(guilds, p.c.last_active_at >= active_since)
    if at is None:
        return query.where(sa.or_(s.c.is_live.is_(None), s.c.is_live.is_(True)))
    return query.where(
        sa.or_(
            # The run of the latest activity began before the instant (and, by the filter
            # above, reaches to within the window before it): one of its moments is in the
            # window, as runs have no gap longer than the window.
            sa.func.coalesce(p.c.active_since, p.c.last_active_at) < at,
            sa.and_(p.c.earlier_active_at >= active_since, p.c.earlier_active_at < at),
        ),
        # Live at the instant: live since before it, or offline only since it (a channel that
        # went live after the instant, or offline before it, was not live then, however late
        # the tick runs).
        sa.or_(
            s.c.is_live.is_(None),
            sa.and_(s.c.is_live.is_(True), s.c.changed_at < at),
            sa.and_(s.c.is_live.is_(False), s.c.changed_at >= at),
        ),
    )


def credited_at(conn: Connection, guild_id: int, at: datetime) -> list[tuple[str, str]]:
    """``(platform, platform_user_id)`` of each viewer the tick for ``at`` credited (their
    ``last_seen`` is that tick's instant): the points economy earns for exactly that crowd."""
    w = watchtime
    query = sa.select(w.c.platform, w.c.platform_user_id).where(
        w.c.guild_id == guild_id, w.c.last_seen == at
    )
    return [(row.platform, row.platform_user_id) for row in conn.execute(query)]


def credit_present_viewers(
    conn: Connection, guild_id: int, active_since: datetime, seconds: int, now: datetime
) -> int:
    """Add ``seconds`` to every present viewer; return how many gained it.

    Two statements whatever the crowd's size: an UPDATE of the viewers who have a total already
    (all of them, on every tick but a viewer's first), then an INSERT of those who have none.
    The UPDATE changes neither key nor indexed column, so PostgreSQL can keep each new row
    version on its page (a HOT update) instead of adding index entries.
    """
    w = watchtime
    present = _present_viewers(guild_id, active_since, now)
    if conn.dialect.name == "postgresql":
        # Estimates are off for a table that was (nearly) empty when last analyzed, such as a
        # guild's first big crowd, and a nested loop then rescans what the same statement is
        # writing: quadratic (100,000 viewers took 75 s). Hash and merge joins stay linear.
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    updated = conn.execute(
        sa.update(w)
        .where(w.c.guild_id == guild_id, sa.tuple_(w.c.platform, w.c.platform_user_id).in_(present))
        .values(seconds=w.c.seconds + seconds, last_seen=now)
    ).rowcount
    newcomers = present.subquery()
    has_total = sa.exists().where(
        w.c.guild_id == guild_id,
        w.c.platform == newcomers.c.platform,
        w.c.platform_user_id == newcomers.c.platform_user_id,
    )
    source = (
        sa.select(
            sa.literal(guild_id, w.c.guild_id.type),
            newcomers.c.platform,
            newcomers.c.platform_user_id,
            sa.literal(seconds, w.c.seconds.type),
            sa.literal(now, w.c.last_seen.type),
        )
        .where(~has_total)
        .distinct()
    )
    inserted = conn.execute(
        w.insert().from_select(
            ["guild_id", "platform", "platform_user_id", "seconds", "last_seen"], source
        ),
        execution_options=_KEEP_ROWCOUNT,
    ).rowcount
    return updated + inserted


def count_present_viewers(conn: Connection, guild_id: int, active_since: datetime) -> int:
    """How many viewers are present now (for ``!watchtime status``)."""
    present = _present_viewers(guild_id, active_since, None).distinct().subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(present)).scalar_one())


def forget_presence_before(conn: Connection, guild_id: int, before: datetime) -> None:
    conn.execute(
        sa.delete(watch_presence).where(
            watch_presence.c.guild_id == guild_id, watch_presence.c.last_active_at < before
        )
    )
