"""Points for watching for many guilds at once: a few statements for a batch of guilds instead
of about a dozen round trips per guild (issue 26, as ``watchtime/ticks_repository.py`` did for
the tick). Each function does for every guild given what its one-guild twin in ``accrual`` does
for one; the per-guild values travel as a common table expression (``WITH x AS (VALUES ...)``,
which SQLite and PostgreSQL read alike) or, for a crowd's rows, as one JSON array.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.points import repository
from core.features.points.accrual import EARN_SOURCE, UNITS_PER_POINT, Posted, earn_ref
from core.features.points.rates import Rates
from core.features.points.repository import PointsEntry
from core.features.points.tables import points_accrual, points_settings

_s, _a = points_settings.c, points_accrual.c
_RATES = [field.name for field in fields(Rates)]


@dataclass(frozen=True)
class EarningsClock:
    """A guild's earnings clock and the rates it earns at (``Rates()`` for a guild without a
    settings row)."""

    earned_until: datetime | None
    rates: Rates


def clocks_of(conn: Connection, guild_ids: Sequence[int]) -> dict[int, EarningsClock]:
    """The guilds' earnings clocks and rates, their rows locked in key order (on PostgreSQL),
    so two processes earning the same guilds take turns instead of deadlocking: the second
    reads the clocks the first moved, and earns nothing twice."""
    rows = conn.execute(
        sa.select(_s.guild_id, _s.earned_until, *(_s[name] for name in _RATES))
        .where(_s.guild_id.in_(guild_ids))
        .order_by(_s.guild_id)
        .with_for_update()
    )
    found = {
        row.guild_id: EarningsClock(
            row.earned_until, Rates(**{name: getattr(row, name) for name in _RATES})
        )
        for row in rows
    }
    return {g: found.get(g, EarningsClock(None, Rates())) for g in guild_ids}


def advance_many(conn: Connection, moves: Sequence[tuple[int, datetime, datetime]]) -> set[int]:
    """Move each ``(guild, previous, now)`` guild's earnings clock from ``previous`` to ``now``
    in one compare-and-set; the guilds whose clock moved (``accrual.advance``, for clocks that
    already run)."""
    if not moves:
        return set()
    given = (
        sa.values(
            sa.column("guild_id", _s.guild_id.type),
            sa.column("previous", _s.earned_until.type),
            sa.column("now", _s.earned_until.type),
            name="moves",
        )
        .data(list(moves))
        .cte("moves")
    )
    moved = conn.execute(
        sa.update(points_settings)
        .where(_s.guild_id == given.c.guild_id, _s.earned_until == given.c.previous)
        .values(earned_until=given.c.now)
        .returning(_s.guild_id)
    )
    return set(moved.scalars())


@dataclass(frozen=True)
class Watched:
    """Point-seconds a viewer earned in a guild, for the window ``window``."""

    guild_id: int
    platform: str
    user_id: str
    window: datetime
    units: int


# The viewers' rows travel as one JSON array; a viewer appears once per statement.
_ACCRUE_POSTGRES = sa.text("""
INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start, watch_units)
SELECT guild_id, platform, platform_user_id, window_start, watch_units
FROM json_to_recordset(CAST(:rows AS json)) AS r(
    guild_id BIGINT, platform TEXT, platform_user_id TEXT, window_start TIMESTAMPTZ,
    watch_units BIGINT)
ORDER BY guild_id, platform, platform_user_id
ON CONFLICT (guild_id, platform, platform_user_id)
DO UPDATE SET watch_units = points_accrual.watch_units + excluded.watch_units
""")

_ACCRUE_SQLITE = sa.text("""
INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start, watch_units)
SELECT r.value ->> '$.guild_id', r.value ->> '$.platform', r.value ->> '$.platform_user_id',
       r.value ->> '$.window_start', r.value ->> '$.watch_units'
FROM json_each(:rows) AS r
WHERE true
ON CONFLICT (guild_id, platform, platform_user_id)
DO UPDATE SET watch_units = points_accrual.watch_units + excluded.watch_units
""")


def accrue_watching_many(conn: Connection, watched: Sequence[Watched]) -> None:
    """Add each viewer's point-seconds to their row (made in ``window`` if they have none),
    with one statement (``accrual.accrue_watching``, for many guilds)."""
    sqlite = conn.dialect.name == "sqlite"
    rows = [
        {
            "guild_id": w.guild_id,
            "platform": w.platform,
            "platform_user_id": w.user_id,
            "window_start": repository.sqlite_time(w.window) if sqlite
            else utc(w.window).isoformat(),
            "watch_units": w.units,
        }
        for w in sorted(watched, key=lambda w: (w.guild_id, w.platform, w.user_id))
        if w.units > 0
    ]  # fmt: skip
    if rows:
        payload = json.dumps(rows, ensure_ascii=False)
        conn.execute(_ACCRUE_SQLITE if sqlite else _ACCRUE_POSTGRES, {"rows": payload})


def _closes(currents: Mapping[int, datetime]) -> sa.CTE:
    """``(guild_id, current, quiet_since)``: each guild's current window, and the last chat
    before which a row left with nothing is dropped."""
    return (
        sa.values(
            sa.column("guild_id", _a.guild_id.type),
            sa.column("current", _a.window_start.type),
            sa.column("quiet_since", _a.last_chat_at.type),
            name="closes",
        )
        .data([(g, current, current - timedelta(hours=1)) for g, current in currents.items()])
        .cte("closes")
    )


def post_closed_windows_many(
    conn: Connection, currents: Mapping[int, datetime]
) -> dict[int, Posted]:
    """``accrual.post_closed_windows`` for many ``{guild: current window}``: every row of a
    window before the guild's current one posted to the ledger and started again, rows left with
    nothing of viewers quiet for an hour dropped (for the guilds where a window closed). One
    statement when no window closed (most ticks), four or five when some did."""
    posted = {g: Posted(0, 0) for g in currents}
    if not currents:
        return posted
    closes = _closes(currents)
    closed = conn.execute(
        sa.select(_a.guild_id, _a.platform, _a.platform_user_id, _a.window_start, _a.watch_units,
                  _a.chat_points)
        .select_from(points_accrual.join(closes, _a.guild_id == closes.c.guild_id))
        .where(_a.window_start < closes.c.current)
        .order_by(_a.guild_id, _a.platform, _a.platform_user_id)
        .with_for_update(of=points_accrual)
    ).all()  # fmt: skip
    if not closed:
        return posted
    entries = []
    for row in closed:
        amount = row.watch_units // UNITS_PER_POINT + row.chat_points
        if amount > 0:
            entries.append(
                PointsEntry(
                    guild_id=row.guild_id,
                    platform=Platform(row.platform),
                    platform_user_id=row.platform_user_id,
                    amount=amount,
                    source=EARN_SOURCE,
                    source_ref=earn_ref(row.window_start, row.platform, row.platform_user_id),
                    at=currents[row.guild_id],
                    reason="watching and chat",
                )
            )
    written = repository.credit_many(conn, entries)
    viewers: dict[int, int] = {}
    points: dict[int, int] = {}
    for entry in entries:
        if entry.key in written:
            viewers[entry.guild_id] = viewers.get(entry.guild_id, 0) + 1
            points[entry.guild_id] = points.get(entry.guild_id, 0) + entry.amount
    for g in viewers:
        posted[g] = Posted(viewers[g], points[g])
    # Started again and cleaned up: only the guilds where a window closed.
    closing = _closes({g: currents[g] for g in dict.fromkeys(row.guild_id for row in closed)})
    conn.execute(
        sa.update(points_accrual)
        .where(_a.guild_id == closing.c.guild_id, _a.window_start < closing.c.current)
        .values(
            watch_units=_a.watch_units % UNITS_PER_POINT,
            chat_points=0,
            window_start=closing.c.current,
        )
    )
    conn.execute(
        sa.delete(points_accrual).where(
            _a.watch_units == 0,
            _a.chat_points == 0,
            sa.exists().where(
                closing.c.guild_id == _a.guild_id,
                sa.or_(_a.last_chat_at.is_(None), _a.last_chat_at < closing.c.quiet_since),
            ),
        )
    )
    return posted
