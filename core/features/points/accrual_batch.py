"""Points for watching for many guilds at once: a few statements for a batch of guilds instead
of about a dozen round trips per guild (issue 26, as ``watchtime/ticks_repository.py`` did for
the tick). Each function does for every guild given what its one-guild twin in ``accrual`` does
for one; the per-guild values travel as a common table expression (``WITH x AS (VALUES ...)``,
which SQLite and PostgreSQL read alike) or, for a crowd's rows, as one JSON array.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import utc
from core.features.points import accrual, repository
from core.features.points.accrual import EARN_SOURCE, NOT_STREAMER, QUIET, UNITS_PER_POINT, Posted
from core.features.points.rates import Rates
from core.features.points.tables import points_accrual, points_settings

_s, _a = points_settings.c, points_accrual.c
_RATES = [field.name for field in fields(Rates)]
REASON = "watching and chat"  # the ledger rows' reason, as accrual.post_closed_windows writes


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
class TickCredit:
    """What a guild's latest tick earns its crowd (the guild's ``watchtime`` rows whose
    ``last_seen`` is the tick's instant ``at``, as the tick itself wrote them): ``units``
    point-seconds each, ``sub_units`` for a subscriber, accrued in the window ``window``."""

    guild_id: int
    at: datetime
    window: datetime
    units: int
    sub_units: int


# Credited from the rows the tick wrote, without carrying the crowd through Python: the guilds'
# claims and the subscribers (usually few) travel as JSON arrays, the crowd is joined in place.
# A viewer appears once per statement (one watchtime row; subscriber keys are unique).
_ACCRUE_POSTGRES = sa.text(f"""
WITH {accrual.STREAMERS_POSTGRES},
crowd AS (
    SELECT w.guild_id, w.platform, w.platform_user_id, c.window_start,
           CASE WHEN s.guild_id IS NULL THEN c.units ELSE c.sub_units END AS watch_units
    FROM json_to_recordset(CAST(:claims AS json)) AS c(
        guild_id BIGINT, at TIMESTAMPTZ, window_start TIMESTAMPTZ, units BIGINT, sub_units BIGINT)
    JOIN watchtime AS w ON w.guild_id = c.guild_id AND w.last_seen = c.at
         AND w.guild_id = ANY(:guild_ids) AND {accrual.NOT_STREAMER_POSTGRES}
    LEFT JOIN json_to_recordset(CAST(:subs AS json)) AS s(
        guild_id BIGINT, platform TEXT, user_id TEXT)
      ON s.guild_id = w.guild_id AND s.platform = w.platform AND s.user_id = w.platform_user_id
),
added AS (
    INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start, watch_units)
    SELECT guild_id, platform, platform_user_id, window_start, watch_units
    FROM crowd WHERE watch_units > 0
    ORDER BY guild_id, platform, platform_user_id
    ON CONFLICT (guild_id, platform, platform_user_id)
    DO UPDATE SET watch_units = points_accrual.watch_units + excluded.watch_units
)
SELECT guild_id, count(*) AS viewers FROM crowd GROUP BY guild_id
""")  # noqa: S608 (a constant condition put in; the parameters are bound)

_COUNT_SQLITE = sa.text(f"""
SELECT w.guild_id, count(*) AS viewers
FROM json_each(:claims) AS c
JOIN watchtime AS w
  ON w.guild_id = c.value ->> '$.guild_id' AND w.last_seen = c.value ->> '$.at' AND {NOT_STREAMER}
GROUP BY w.guild_id
""")  # noqa: S608 (a constant condition put in; the parameters are bound)
_ACCRUE_SQLITE = sa.text(f"""
INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start, watch_units)
SELECT guild_id, platform, platform_user_id, window_start, watch_units
FROM (
    SELECT w.guild_id AS guild_id, w.platform AS platform,
           w.platform_user_id AS platform_user_id, c.value ->> '$.window_start' AS window_start,
           CASE WHEN s.value IS NULL THEN c.value ->> '$.units'
                ELSE c.value ->> '$.sub_units' END AS watch_units
    FROM json_each(:claims) AS c
    JOIN watchtime AS w
      ON w.guild_id = c.value ->> '$.guild_id' AND w.last_seen = c.value ->> '$.at'
         AND {NOT_STREAMER}
    LEFT JOIN json_each(:subs) AS s
      ON s.value ->> '$.guild_id' = w.guild_id AND s.value ->> '$.platform' = w.platform
     AND s.value ->> '$.user_id' = w.platform_user_id
) AS crowd
WHERE watch_units > 0
ORDER BY guild_id, platform, platform_user_id
ON CONFLICT (guild_id, platform, platform_user_id)
DO UPDATE SET watch_units = points_accrual.watch_units + excluded.watch_units
""")  # noqa: S608 (a constant condition put in; the parameters are bound)


def accrue_tick_crowds(
    conn: Connection,
    credits: Sequence[TickCredit],
    subscribed: Iterable[tuple[int, str, str]],
) -> dict[int, int]:
    """Add each guild's ``TickCredit`` to every viewer of its tick's crowd (a row made in its
    window for a viewer without one), ``sub_units`` for the ``(guild, platform, user id)`` in
    ``subscribed``; the crowd's size per guild (guilds with none are absent). One statement on
    PostgreSQL, two on SQLite; the crowd never leaves the database
    (``accrual.accrue_watching``, for many guilds)."""
    if not credits:
        return {}
    sqlite = conn.dialect.name == "sqlite"

    def moment(value: datetime) -> str:
        return repository.sqlite_time(value) if sqlite else utc(value).isoformat()

    claims = json.dumps(
        [
            {
                "guild_id": c.guild_id,
                "at": moment(c.at),
                "window_start": moment(c.window),
                "units": c.units,
                "sub_units": c.sub_units,
            }
            for c in sorted(credits, key=lambda c: c.guild_id)
        ]
    )
    subs = json.dumps(
        [{"guild_id": g, "platform": p, "user_id": u} for g, p, u in sorted(set(subscribed))],
        ensure_ascii=False,
    )
    params = {"claims": claims, "subs": subs}
    if not sqlite:
        # The guilds again as an array: with it PostgreSQL reads their rows through the primary
        # key (it cannot tell how many rows a JSON array holds, and would read the whole table).
        params["guild_ids"] = sorted(c.guild_id for c in credits)
        return {row.guild_id: row.viewers for row in conn.execute(_ACCRUE_POSTGRES, params)}
    counts = {row.guild_id: row.viewers for row in conn.execute(_COUNT_SQLITE, params)}
    if counts:
        conn.execute(_ACCRUE_SQLITE, params)
    return counts


# The posting, in the database: each closed row becomes its ledger row (``accrual.earn_ref``'s
# reference, made in SQL) and moves its balance, without a round trip of the rows through
# Python (at 50,000 rows a batch, building and sending them was most of the job's CPU). Each
# guild's current window travels with it as JSON (``currents``: guild id, current window, and
# the hour before it, for quiet rows), so a batch posts with one statement however many
# windows its guilds are in (each guild's windows start at its own minute).
_CONSTANTS = {"k_units": UNITS_PER_POINT, "k_source": EARN_SOURCE, "k_reason": REASON}

_POST_POSTGRES = sa.text("""
WITH cur AS (
    SELECT * FROM json_to_recordset(CAST(:currents AS json)) AS g(
        guild_id BIGINT, current_window TIMESTAMPTZ, quiet_since TIMESTAMPTZ)
),
closed AS (
    SELECT a.guild_id, a.platform, a.platform_user_id, a.window_start, cur.current_window,
           a.watch_units / :k_units + a.chat_points AS amount
    FROM points_accrual AS a JOIN cur ON cur.guild_id = a.guild_id
    WHERE a.guild_id = ANY(:guild_ids) AND a.window_start < cur.current_window
    ORDER BY a.guild_id, a.platform, a.platform_user_id
    FOR UPDATE OF a
),
added AS (
    INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, source_ref,
                               reason, created_at)
    SELECT guild_id, platform, platform_user_id, amount, :k_source,
           to_char(current_window AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')
             || ':' || platform || ':' || platform_user_id,
           :k_reason, current_window
    FROM closed WHERE amount > 0
    ORDER BY guild_id, platform, platform_user_id
    ON CONFLICT (guild_id, source, source_ref) DO NOTHING
    RETURNING guild_id, platform, platform_user_id, amount
),
moved AS (
    INSERT INTO points_balances AS b (guild_id, platform, platform_user_id, points)
    SELECT guild_id, platform, platform_user_id, amount FROM added
    ON CONFLICT (guild_id, platform, platform_user_id)
    DO UPDATE SET points = b.points + excluded.points
)
SELECT c.guild_id, count(a.guild_id) AS viewers, COALESCE(sum(a.amount), 0) AS points
FROM (SELECT DISTINCT guild_id FROM closed) AS c LEFT JOIN added AS a ON a.guild_id = c.guild_id
GROUP BY c.guild_id
""").bindparams(**_CONSTANTS)

# SQLite: the guild's current window read from the JSON by a subquery.
_CURRENT_SQLITE = """(
    SELECT g.value ->> '$.current_window' FROM json_each(:currents) AS g
    WHERE g.value ->> '$.guild_id' = points_accrual.guild_id)"""
_QUIET_SINCE_SQLITE = """(
    SELECT g.value ->> '$.quiet_since' FROM json_each(:currents) AS g
    WHERE g.value ->> '$.guild_id' = points_accrual.guild_id)"""

_IN_GUILDS_SQLITE = "guild_id IN (SELECT g.value ->> '$.guild_id' FROM json_each(:currents) AS g)"

_CLOSED_SQLITE = sa.text(
    "SELECT DISTINCT guild_id FROM points_accrual WHERE "  # noqa: S608 (constant text)
    + _IN_GUILDS_SQLITE
    + " AND window_start < "
    + _CURRENT_SQLITE
)

_POST_SQLITE = sa.text(
    """
INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, source_ref,
                           reason, created_at)
SELECT guild_id, platform, platform_user_id, watch_units / :k_units + chat_points,
       :k_source,
       strftime('%Y-%m-%dT%H:%MZ', """
    + _CURRENT_SQLITE
    + """) || ':' || platform || ':' || platform_user_id,
       :k_reason, """
    + _CURRENT_SQLITE
    + """
FROM points_accrual
WHERE """
    + _IN_GUILDS_SQLITE
    + " AND window_start < "
    + _CURRENT_SQLITE
    + """
  AND watch_units / :k_units + chat_points > 0
ORDER BY guild_id, platform, platform_user_id
ON CONFLICT (guild_id, source, source_ref) DO NOTHING
RETURNING guild_id, platform, platform_user_id, amount
"""
).bindparams(**_CONSTANTS)

# Then, in the guilds where a window closed, the rows left with nothing of viewers quiet for an
# hour are dropped, and the other closed rows start again in the current window: dropped first
# (a closed row is dropped when what would be left of it is nothing), so that rows about to go
# are not updated first.
_DROP_QUIET_POSTGRES = sa.text("""
WITH cur AS (
    SELECT * FROM json_to_recordset(CAST(:currents AS json)) AS g(
        guild_id BIGINT, current_window TIMESTAMPTZ, quiet_since TIMESTAMPTZ)
)
DELETE FROM points_accrual AS a USING cur
WHERE a.guild_id = cur.guild_id AND a.guild_id = ANY(:guild_ids)
  AND (a.last_chat_at IS NULL OR a.last_chat_at < cur.quiet_since)
  AND ((a.window_start < cur.current_window AND a.watch_units % :k_units = 0)
       OR (a.window_start >= cur.current_window AND a.watch_units = 0 AND a.chat_points = 0))
""").bindparams(k_units=UNITS_PER_POINT)

_START_AGAIN_POSTGRES = sa.text("""
WITH cur AS (
    SELECT * FROM json_to_recordset(CAST(:currents AS json)) AS g(
        guild_id BIGINT, current_window TIMESTAMPTZ, quiet_since TIMESTAMPTZ)
)
UPDATE points_accrual AS a
SET watch_units = a.watch_units % :k_units, chat_points = 0, window_start = cur.current_window
FROM cur
WHERE a.guild_id = cur.guild_id AND a.guild_id = ANY(:guild_ids)
  AND a.window_start < cur.current_window
""").bindparams(k_units=UNITS_PER_POINT)

_DROP_QUIET_SQLITE = sa.text(
    """
DELETE FROM points_accrual
WHERE """
    + _IN_GUILDS_SQLITE
    + """
  AND (last_chat_at IS NULL OR last_chat_at < """
    + _QUIET_SINCE_SQLITE
    + """)
  AND ((window_start < """
    + _CURRENT_SQLITE
    + """ AND watch_units % :k_units = 0)
       OR (window_start >= """
    + _CURRENT_SQLITE
    + """ AND watch_units = 0 AND chat_points = 0))
"""
).bindparams(k_units=UNITS_PER_POINT)

_START_AGAIN_SQLITE = sa.text(
    "UPDATE points_accrual SET watch_units = watch_units % :k_units, chat_points = 0, "  # noqa: S608
    "window_start = "
    + _CURRENT_SQLITE
    + " WHERE "
    + _IN_GUILDS_SQLITE
    + " AND window_start < "
    + _CURRENT_SQLITE
).bindparams(k_units=UNITS_PER_POINT)


def _currents(conn: Connection, currents: Mapping[int, datetime]) -> str:
    """``{guild: current window}`` as the statements' JSON (in guild order)."""
    sqlite = conn.dialect.name == "sqlite"

    def moment(value: datetime) -> str:
        return repository.sqlite_time(value) if sqlite else utc(value).isoformat()

    return json.dumps(
        [
            {
                "guild_id": g,
                "current_window": moment(current),
                "quiet_since": moment(current - QUIET),
            }
            for g, current in sorted(currents.items())
        ]
    )


def _post(conn: Connection, currents: Mapping[int, datetime]) -> dict[int, Posted]:
    """Post the closed rows of the guilds of ``{guild: current window}``; what each guild whose
    window closed posted (the others are absent)."""
    payload = _currents(conn, currents)
    if conn.dialect.name != "sqlite":
        rows = conn.execute(_POST_POSTGRES, {"currents": payload, "guild_ids": sorted(currents)})
        return {row.guild_id: Posted(row.viewers, int(row.points)) for row in rows}
    closed = list(conn.execute(_CLOSED_SQLITE, {"currents": payload}).scalars())
    if not closed:
        return {}
    added = conn.execute(_POST_SQLITE, {"currents": payload}).all()
    repository.add_to_balances_sqlite(conn, added)
    posted = {g: Posted(0, 0) for g in closed}
    for row in added:
        before = posted[row.guild_id]
        posted[row.guild_id] = Posted(before.viewers + 1, before.points + row.amount)
    return posted


def post_closed_windows_many(
    conn: Connection, currents: Mapping[int, datetime]
) -> dict[int, Posted]:
    """``accrual.post_closed_windows`` for many ``{guild: current window}``: every row of a
    window before the guild's current one posted to the ledger and started again, rows left with
    nothing of viewers quiet for an hour dropped (for the guilds where a window closed). One
    statement when no window closed (most ticks, two on SQLite), three when some did (four or
    five on SQLite), however many windows the guilds are in."""
    posted = {g: Posted(0, 0) for g in currents}
    if not currents:
        return posted
    closed = _post(conn, currents)
    posted.update(closed)
    if closed:
        payload = _currents(conn, {g: currents[g] for g in closed})
        if conn.dialect.name == "sqlite":
            conn.execute(_DROP_QUIET_SQLITE, {"currents": payload})
            conn.execute(_START_AGAIN_SQLITE, {"currents": payload})
        else:
            params = {"currents": payload, "guild_ids": sorted(closed)}
            conn.execute(_DROP_QUIET_POSTGRES, params)
            conn.execute(_START_AGAIN_POSTGRES, params)
    return posted
