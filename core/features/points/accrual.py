"""Earnings not yet posted to the ledger: one ``points_accrual`` row per viewer, updated in
place by each tick and each counted chat message, posted as one ledger row per viewer per
window (source ``earn``, reference ``<posting window>:<platform>:<user id>``: the start of the
window it is posted in, never used twice for a viewer, whereas a window's own start is used
again when the window is lengthened) and then reset.
Watching accrues point-seconds (seconds present x the per-minute rate), so a rate of one point
a minute over a 20-second tick is exact; what is below a whole point carries to the next window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.points import repository
from core.features.points.repository import PointsEntry
from core.features.points.tables import points_accrual, points_settings
from core.features.watchtime.tables import watch_presence
from core.storage.db import insert_for

EARN_SOURCE = "earn"
UNITS_PER_POINT = 60  # point-seconds in a point
QUIET = timedelta(hours=1)  # a row left with nothing is dropped once its viewer is this quiet
MINIMUM = datetime.min.replace(tzinfo=UTC)
_CHUNK = 500  # rows per statement: within every backend's limit on bound parameters


# A crowd's viewer (``w``, a ``watchtime`` row) who is not the streamer in their own stream:
# never seen chatting in a channel that is their own. They earn nothing by chatting there
# either (``earning._may_earn``); paying them for watching put them at the top of the board.
NOT_STREAMER = """NOT EXISTS (SELECT 1 FROM watch_presence AS own
    WHERE own.guild_id = w.guild_id AND own.platform = w.platform
      AND own.platform_user_id = w.platform_user_id
      AND own.broadcaster_user_id = w.platform_user_id)"""


# NOT_STREAMER for PostgreSQL's batch: the streamers of the statement's guilds found first, from
# those guilds' presence (asked row by row, it hashed every guild's presence for each statement).
STREAMERS_POSTGRES = """streamers AS MATERIALIZED (
    SELECT guild_id, platform, platform_user_id FROM watch_presence
    WHERE guild_id = ANY(:guild_ids) AND platform_user_id = broadcaster_user_id)"""
NOT_STREAMER_POSTGRES = """NOT EXISTS (SELECT 1 FROM streamers AS own
    WHERE own.guild_id = w.guild_id AND own.platform = w.platform
      AND own.platform_user_id = w.platform_user_id)"""


def streamers_of(conn: Connection, guild_id: int) -> set[tuple[str, str]]:
    """``(platform, user id)`` of the guild's streamers seen chatting in their own channel
    (:data:`NOT_STREAMER`, for one guild)."""
    p = watch_presence.c
    rows = conn.execute(
        sa.select(p.platform, p.platform_user_id).where(
            p.guild_id == guild_id, p.platform_user_id == p.broadcaster_user_id
        )
    )
    return {(str(row.platform), row.platform_user_id) for row in rows}


def window_phase(guild_id: int, minutes: int) -> int:
    """Seconds after the epoch's windows at which the guild's own windows start: the guild id's
    time part (a Discord snowflake's milliseconds) taken modulo the window, in whole minutes, so
    guilds close their windows at different ticks and a posting is spread over the window
    instead of every guild's falling on the same tick (ids below 2**22 start on the epoch's)."""
    return (guild_id >> 22) % max(1, minutes) * 60


def window_start(moment: datetime, minutes: int, guild_id: int) -> datetime:
    """The start of the guild's posting window that ``moment`` is in (``window_phase``)."""
    size = max(1, minutes) * 60
    phase = window_phase(guild_id, minutes)
    seconds = (int(utc(moment).timestamp()) - phase) // size * size + phase
    return datetime.fromtimestamp(seconds, utc(moment).tzinfo)


def earn_ref(window: datetime, platform: str, user_id: str) -> str:
    return f"{utc(window):%Y-%m-%dT%H:%MZ}:{platform}:{user_id}"


def earned_until(conn: Connection, guild_id: int) -> datetime | None:
    return conn.execute(
        sa.select(points_settings.c.earned_until).where(points_settings.c.guild_id == guild_id)
    ).scalar_one_or_none()


def earned_until_many(conn: Connection, guild_ids: Sequence[int]) -> dict[int, datetime]:
    """Each guild's latest earning tick (absent: none yet). A chat message :data:`QUIET` older
    counts nothing: a viewer's row, which says up to which message they were counted, is
    dropped once they were that quiet, so such a message (delivered again, or very late) would
    find no row and perhaps count twice. Read with a share lock on the guilds' rows, in id
    order as the earning locks them (PostgreSQL): a count waits for a posting under way, which
    would reset a row made meanwhile in the window it posts without posting it."""
    s = points_settings.c
    query = (
        sa.select(s.guild_id, s.earned_until)
        .where(s.guild_id.in_(list(guild_ids)), s.earned_until.is_not(None))
        .order_by(s.guild_id)
        .with_for_update(read=True)
    )
    return {row.guild_id: utc(row.earned_until) for row in conn.execute(query)}


def advance(conn: Connection, guild_id: int, previous: datetime | None, now: datetime) -> bool:
    """Move the guild's earnings clock from ``previous`` to ``now``; False if another process
    (or an earlier run of this tick) did, in which case nothing may be credited."""
    s = points_settings.c
    if previous is None:
        stmt = insert_for(conn, points_settings).values(
            guild_id=guild_id, updated_at=now, earned_until=now
        )
        claimed = conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[s.guild_id],
                set_={"earned_until": now},
                where=s.earned_until.is_(None),
            ),
            execution_options={"preserve_rowcount": True},
        )
        return claimed.rowcount == 1
    moved = conn.execute(
        sa.update(points_settings)
        .where(s.guild_id == guild_id, s.earned_until == previous)
        .values(earned_until=now)
    )
    return moved.rowcount == 1


# One statement, built once and run for all of a tick's viewers at once (executemany): the
# multi-row VALUES it replaced was compiled again for every guild (a third of the job's CPU).
_ACCRUE_WATCHING = sa.text("""
INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start, watch_units)
VALUES (:guild_id, :platform, :platform_user_id, :window_start, :watch_units)
ON CONFLICT (guild_id, platform, platform_user_id)
DO UPDATE SET watch_units = points_accrual.watch_units + excluded.watch_units
""").bindparams(
    *(
        sa.bindparam(name, type_=points_accrual.c[name].type)
        for name in ("guild_id", "platform", "platform_user_id", "window_start", "watch_units")
    )
)


def accrue_watching(
    conn: Connection, guild_id: int, window: datetime, units: Sequence[tuple[str, str, int]]
) -> None:
    """Add point-seconds ``(platform, user_id, units)`` to each viewer's row."""
    rows = [
        {
            "guild_id": guild_id,
            "platform": platform,
            "platform_user_id": user_id,
            "window_start": window,
            "watch_units": amount,
        }
        for platform, user_id, amount in units
        if amount > 0
    ]
    if rows:
        conn.execute(_ACCRUE_WATCHING, rows)


@dataclass(frozen=True)
class Posted:
    viewers: int
    points: int


def post_closed_windows(conn: Connection, guild_id: int, current: datetime) -> Posted:
    """Post every row of a window before ``current`` to the ledger, and start it again in
    ``current``; rows left with nothing, of viewers quiet for an hour, are dropped (when a window
    closes: a tick that closes none reads and writes nothing more)."""
    a = points_accrual.c
    closed = conn.execute(
        sa.select(a.platform, a.platform_user_id, a.window_start, a.watch_units, a.chat_points)
        .where(a.guild_id == guild_id, a.window_start < current)
        .with_for_update()
    ).all()
    if not closed:  # most ticks: no window closed, nothing to post or start again
        return Posted(0, 0)
    entries = []
    for row in closed:
        amount = row.watch_units // UNITS_PER_POINT + row.chat_points
        if amount > 0:
            entries.append(
                PointsEntry(
                    guild_id=guild_id,
                    platform=Platform(row.platform),
                    platform_user_id=row.platform_user_id,
                    amount=amount,
                    source=EARN_SOURCE,
                    source_ref=earn_ref(current, row.platform, row.platform_user_id),
                    at=current,
                    reason="watching and chat",
                )
            )
    written = repository.credit_many(conn, entries)
    conn.execute(
        sa.update(points_accrual)
        .where(a.guild_id == guild_id, a.window_start < current)
        .values(watch_units=a.watch_units % UNITS_PER_POINT, chat_points=0, window_start=current)
    )
    quiet_since = current - QUIET
    conn.execute(
        sa.delete(points_accrual).where(
            a.guild_id == guild_id,
            a.watch_units == 0,
            a.chat_points == 0,
            sa.or_(a.last_chat_at.is_(None), a.last_chat_at < quiet_since),
        )
    )
    keys = {entry.key for entry in entries}
    return Posted(len(written), sum(e.amount for e in entries if e.key in written & keys))


def pending_of(conn: Connection, guild_id: int, platform: Platform, user_id: str) -> int:
    """Whole points earned and not yet posted."""
    a = points_accrual.c
    row = conn.execute(
        sa.select(a.watch_units, a.chat_points).where(
            a.guild_id == guild_id, a.platform == str(platform), a.platform_user_id == user_id
        )
    ).first()
    return 0 if row is None else row.watch_units // UNITS_PER_POINT + row.chat_points


# The chat path's statements, built once: SQLAlchemy caches their compiled form (the dialects'
# ``insert().on_conflict_do_nothing()`` has no cache key and was compiled for every message).
# The key's parameters are not named after columns: an UPDATE reserves those for its SET.
_ENSURE_ROW = sa.text("""
INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start)
VALUES (:guild_id, :platform, :platform_user_id, :window_start)
ON CONFLICT (guild_id, platform, platform_user_id) DO NOTHING
""").bindparams(
    *(
        sa.bindparam(name, type_=points_accrual.c[name].type)
        for name in ("guild_id", "platform", "platform_user_id", "window_start")
    )
)
_a = points_accrual.c
# Locked in key order, so two batches counting the same viewers take their locks in one order.
# (Platforms x user ids may also match a key not asked for: count_chats leaves those alone.)
_CHAT_STATES = (
    sa.select(
        _a.platform,
        _a.platform_user_id,
        _a.chat_hour,
        _a.chat_count,
        _a.last_chat_at,
        _a.last_chat_digest,
    )
    .where(
        _a.guild_id == sa.bindparam("k_guild"),
        _a.platform.in_(sa.bindparam("k_platforms", expanding=True)),
        _a.platform_user_id.in_(sa.bindparam("k_users", expanding=True)),
    )
    .order_by(_a.platform, _a.platform_user_id)
    .with_for_update()
)
_CHAT_COUNTED = (
    sa.update(points_accrual)
    .where(
        _a.guild_id == sa.bindparam("k_guild"),
        _a.platform == sa.bindparam("k_platform"),
        _a.platform_user_id == sa.bindparam("k_user"),
    )
    .values(
        last_chat_at=sa.bindparam("at"),
        last_chat_digest=sa.bindparam("digest"),
        chat_points=_a.chat_points + sa.bindparam("points"),
        chat_hour=sa.bindparam("hour"),
        chat_count=sa.bindparam("count"),
    )
)


@dataclass(frozen=True)
class Chat:
    """A chat message to count: whose, when, and the digest of its text."""

    platform: str
    user_id: str
    at: datetime
    digest: str


@dataclass
class _ChatState:
    """A viewer's chat counters, as read and then moved by each message in turn."""

    hour: datetime | None
    count: int
    last_at: datetime | None
    digest: str | None
    points: int = 0  # added by the messages counted now
    moved: bool = False

    def count_one(self, chat: Chat, points: int, cap: int) -> bool:
        at = utc(chat.at)
        if self.last_at is not None and at <= self.last_at:
            return False  # a redelivery, or older than the last message seen: nothing moves
        hour = at.replace(minute=0, second=0, microsecond=0)
        count = self.count if self.hour == hour else 0
        counts = chat.digest != self.digest and count < cap and points > 0
        if counts:
            self.points += points
            self.hour, self.count = hour, count + 1
        self.last_at, self.digest, self.moved = at, chat.digest, True
        return counts


def count_chats(
    conn: Connection,
    guild_id: int,
    chats: Sequence[Chat],
    *,
    points: int,
    cap: int,
    window_minutes: int,
    earned_until: datetime | None = None,
) -> list[bool]:
    """Count chat messages toward their viewers' earnings, in order, as if one at a time: for
    each, False when it does not count (a redelivery or an older message, the same text as the
    viewer's last, or the hour's cap reached). A viewer without a row gets one in the window of
    their first message, or of the guild's latest tick (``earned_until``) if later: that
    window's posting may have dropped their row already, and a row of an earlier window would
    be posted again in it, under a reference taken. Whatever the number of messages, two statements
    per 500 viewers (their rows made sure of, then read and locked) and one that writes each
    viewer's row once."""
    firsts: dict[tuple[str, str], Chat] = {}
    for chat in chats:
        firsts.setdefault((chat.platform, chat.user_id), chat)
    keys = sorted(firsts)
    states: dict[tuple[str, str], _ChatState] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        conn.execute(
            _ENSURE_ROW,
            [
                {
                    "guild_id": guild_id,
                    "platform": platform,
                    "platform_user_id": user_id,
                    "window_start": window_start(
                        max(utc(firsts[platform, user_id].at), earned_until or MINIMUM),
                        window_minutes,
                        guild_id,
                    ),
                }
                for platform, user_id in chunk
            ],
        )
        rows = conn.execute(
            _CHAT_STATES,
            {
                "k_guild": guild_id,
                "k_platforms": sorted({platform for platform, _ in chunk}),
                "k_users": [user_id for _, user_id in chunk],
            },
        )
        for row in rows:
            if (row.platform, row.platform_user_id) not in firsts:
                continue
            states[row.platform, row.platform_user_id] = _ChatState(
                hour=None if row.chat_hour is None else utc(row.chat_hour),
                count=row.chat_count,
                last_at=None if row.last_chat_at is None else utc(row.last_chat_at),
                digest=row.last_chat_digest,
            )
    counted = [states[chat.platform, chat.user_id].count_one(chat, points, cap) for chat in chats]
    moved = [
        {
            "k_guild": guild_id,
            "k_platform": platform,
            "k_user": user_id,
            "at": state.last_at,
            "digest": state.digest,
            "points": state.points,
            "hour": state.hour,
            "count": state.count,
        }
        for (platform, user_id), state in sorted(states.items())
        if state.moved
    ]
    if moved:
        conn.execute(_CHAT_COUNTED, moved)
    return counted
