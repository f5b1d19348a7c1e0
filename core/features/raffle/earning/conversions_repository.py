"""Watchtime tickets for many guilds' open periods at once: two statements per batch of guilds
(four on SQLite) instead of four round trips and a transaction per guild (issue 26, as
``points/accrual_batch.py`` did for points and ``watchtime/ticks_repository.py`` for the tick).

``hold_open_periods`` does for many guilds what ``periods_repository.find_open_period``,
``get_settings`` and ``hold_open_period`` do for one; ``convert_watch_hours_many`` is the
conversion itself (``earning_repository.convert_watch_hours`` hands it its one period). The
periods travel as one JSON array, not a ``VALUES`` list (SQLAlchemy compiles a long one anew
for every batch).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.raffle.periods.repository import GuildRaffleSettings
from core.features.raffle.tables import raffle_periods, raffle_settings
from core.storage.schema import UTCDateTime

DEFAULT_RATE = GuildRaffleSettings().watch_hour_tickets  # a guild without a settings row


@dataclass(frozen=True)
class HeldPeriod:
    """A guild's open period, held open to the end of the transaction, and its hourly rate."""

    guild_id: int
    period_id: int
    rate: int


def hold_open_periods(conn: Connection, guild_ids: Sequence[int]) -> list[HeldPeriod]:
    """The open period of each guild given that has one, in guild order, with its rate.

    On PostgreSQL each period row stays locked to the end of the caller's transaction (as
    ``hold_open_period`` does), so a close waits for the tickets written here and none slips in
    after its freeze; a period a close holds is waited for, then found closed and left out. The
    lock is ``FOR NO KEY UPDATE``, taken in guild order: ledger writers' key-share locks do not
    wait for it, and two converters of the same guilds take turns instead of deadlocking on each
    other's progress rows (the second finds the hours paid). SQLite's write lock, taken at
    BEGIN, does the same there."""
    if not guild_ids:
        return []
    p, s = raffle_periods.c, raffle_settings.c
    rows = conn.execute(
        sa.select(p.guild_id, p.id, s.watch_hour_tickets)
        .select_from(raffle_periods.outerjoin(raffle_settings, s.guild_id == p.guild_id))
        .where(p.guild_id.in_(guild_ids), p.status == "open")
        .order_by(p.guild_id, p.id)
        .with_for_update(key_share=True, of=raffle_periods)
    )
    return [
        HeldPeriod(
            row.guild_id,
            row.id,
            DEFAULT_RATE if row.watch_hour_tickets is None else row.watch_hour_tickets,
        )
        for row in rows
    ]


# ``given``: the periods, from JSON (the dialect's own functions).
_GIVEN_POSTGRES = """
given AS (
    SELECT period_id, guild_id, rate
    FROM json_to_recordset(CAST(:periods AS json)) AS g(period_id BIGINT, guild_id BIGINT,
                                                        rate INTEGER)
),"""

_GIVEN_SQLITE = """
given AS (
    SELECT g.value ->> '$.period_id' AS period_id, g.value ->> '$.guild_id' AS guild_id,
           g.value ->> '$.rate' AS rate
    FROM json_each(:periods) AS g
),"""

# ``due``: each given period's viewers with a full hour watched and not paid yet (the hours
# reached since the baseline, the hours paid before, and whether a progress row exists). On
# PostgreSQL a LATERAL subquery per period, kept apart by OFFSET 0 (else the planner flattens
# it into one join and, at 50,000 viewers a batch, hashes the whole progress table: 1,000,000
# rows read a batch at 10,000 guilds, 0.3 s); this way each period reads its own rows through
# the keys. SQLite's planner does that with the plain join.
_DUE_POSTGRES = """
due AS (
    SELECT g.guild_id, g.period_id, g.rate, d.platform, d.platform_user_id, d.hours,
           d.previous, d.tracked
    FROM given AS g
    CROSS JOIN LATERAL (
        SELECT w.platform, w.platform_user_id,
               (w.seconds - COALESCE(p.baseline_seconds, 0)) / 3600 AS hours,
               COALESCE(p.hours_awarded, 0) AS previous,
               p.period_id IS NOT NULL AS tracked
        FROM watchtime AS w
        LEFT JOIN raffle_watch_progress AS p
          ON p.period_id = g.period_id AND p.platform = w.platform
             AND p.platform_user_id = w.platform_user_id
        WHERE w.guild_id = g.guild_id
          AND w.seconds - COALESCE(p.baseline_seconds, 0)
              >= (COALESCE(p.hours_awarded, 0) + 1) * 3600
        OFFSET 0
    ) AS d
)"""

_DUE_SQLITE = """
due AS (
    SELECT g.guild_id, g.period_id, g.rate, w.platform, w.platform_user_id,
           (w.seconds - COALESCE(p.baseline_seconds, 0)) / 3600 AS hours,
           COALESCE(p.hours_awarded, 0) AS previous,
           p.period_id IS NOT NULL AS tracked
    FROM given AS g
    JOIN watchtime AS w ON w.guild_id = g.guild_id
    LEFT JOIN raffle_watch_progress AS p
      ON p.period_id = g.period_id AND p.platform = w.platform
         AND p.platform_user_id = w.platform_user_id
    WHERE w.seconds - COALESCE(p.baseline_seconds, 0) >= (COALESCE(p.hours_awarded, 0) + 1) * 3600
)"""


def _ledger_rows(hours: str) -> str:
    """The ledger rows of the hours in the CTE named ``hours`` (``paid`` or ``due``): each
    viewer's reference is ``<platform>:<user id>:<hours reached>``, worth the period's rate times
    the hours since the last payment; a reference already in the ledger is skipped."""
    return f"""
INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
    source, source_ref, actor_id, reason, created_at)
SELECT guild_id, period_id, platform, platform_user_id, (hours - previous) * rate,
       'watchtime', platform || ':' || platform_user_id || ':' || hours, NULL,
       hours || ' h watched', :now
FROM {hours} WHERE (hours - previous) * rate <> 0
ORDER BY guild_id, period_id, platform, platform_user_id
ON CONFLICT (period_id, source, source_ref) DO NOTHING"""  # noqa: S608 (a CTE's name, ours)


# PostgreSQL: one statement. Progress moves by compare-and-set (a row another converter moved
# meanwhile is re-checked and skipped; a new row that lost the race conflicts and is skipped),
# and only the hours that moved become ledger rows and balances.
_CONVERT_POSTGRES = sa.text(
    "WITH"  # noqa: S608 (constant text: the parameters are bound)
    + _GIVEN_POSTGRES
    + _DUE_POSTGRES
    + """,
advanced AS (
    UPDATE raffle_watch_progress AS p SET hours_awarded = due.hours
    FROM due
    WHERE due.tracked AND p.period_id = due.period_id AND p.platform = due.platform
      AND p.platform_user_id = due.platform_user_id AND p.hours_awarded = due.previous
    RETURNING due.guild_id, p.period_id, due.rate, p.platform, p.platform_user_id, due.hours,
              due.previous
),
started AS (
    INSERT INTO raffle_watch_progress AS p
        (period_id, platform, platform_user_id, guild_id, baseline_seconds, hours_awarded)
    SELECT period_id, platform, platform_user_id, guild_id, 0, hours FROM due
    WHERE NOT tracked
    ON CONFLICT (period_id, platform, platform_user_id) DO NOTHING
    RETURNING p.guild_id, p.period_id, p.platform, p.platform_user_id,
              CAST(p.hours_awarded AS BIGINT) AS hours, 0 AS previous
),
paid AS (
    SELECT guild_id, period_id, rate, platform, platform_user_id, hours, previous FROM advanced
    UNION ALL
    SELECT s.guild_id, s.period_id, g.rate, s.platform, s.platform_user_id, s.hours, s.previous
    FROM started AS s JOIN given AS g ON g.period_id = s.period_id
),
added AS ("""
    + _ledger_rows("paid")
    + """
    RETURNING guild_id, period_id, platform, platform_user_id, amount
),
moved AS (
    INSERT INTO raffle_balances AS b (period_id, platform, platform_user_id, guild_id, tickets)
    SELECT period_id, platform, platform_user_id, guild_id, amount FROM added
    ON CONFLICT (period_id, platform, platform_user_id)
    DO UPDATE SET tickets = b.tickets + excluded.tickets
)
SELECT period_id, count(*) AS rows, COALESCE(sum(amount), 0) AS tickets
FROM added GROUP BY period_id
"""
).bindparams(sa.bindparam("now", type_=UTCDateTime()))

# SQLite has one writer at a time, so three statements in the caller's transaction see no one
# else: the ledger rows (from the progress as it was), the balances from the rows just written,
# then the progress.
_LEDGER_SQLITE = sa.text("WITH" + _GIVEN_SQLITE + _DUE_SQLITE + _ledger_rows("due")).bindparams(
    sa.bindparam("now", type_=UTCDateTime())
)

_BALANCES_SQLITE = sa.text("""
INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, tickets)
SELECT period_id, platform, platform_user_id, guild_id, amount FROM raffle_ledger
WHERE id > :after AND source = 'watchtime'
ON CONFLICT (period_id, platform, platform_user_id)
DO UPDATE SET tickets = raffle_balances.tickets + excluded.tickets
""")

_PROGRESS_SQLITE = sa.text(
    "WITH"
    + _GIVEN_SQLITE
    + _DUE_SQLITE
    + """
INSERT INTO raffle_watch_progress
    (period_id, platform, platform_user_id, guild_id, baseline_seconds, hours_awarded)
SELECT period_id, platform, platform_user_id, guild_id, 0, hours FROM due WHERE true
ON CONFLICT (period_id, platform, platform_user_id)
DO UPDATE SET hours_awarded = excluded.hours_awarded
"""
)

_LAST_LEDGER_ID = sa.text("SELECT COALESCE(MAX(id), 0) FROM raffle_ledger")
_WRITTEN_SQLITE = sa.text(
    "SELECT period_id, count(*) AS rows, COALESCE(sum(amount), 0) AS tickets FROM raffle_ledger "
    "WHERE id > :after AND source = 'watchtime' GROUP BY period_id"
)


def convert_watch_hours_many(
    conn: Connection, periods: Sequence[HeldPeriod], now: datetime
) -> dict[int, tuple[int, int]]:
    """Turn every full hour watched in each period and not paid yet into tickets at the
    period's rate; ``{period id: (ledger rows written, tickets)}`` for the periods that paid
    something. The caller holds the periods open (``hold_open_periods``, same transaction)."""
    if not periods:
        return {}
    payload = json.dumps(
        [{"period_id": p.period_id, "guild_id": p.guild_id, "rate": p.rate} for p in periods]
    )
    params = {"periods": payload, "now": now}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_CONVERT_POSTGRES, params)
    else:
        after = conn.execute(_LAST_LEDGER_ID).scalar_one()
        conn.execute(_LEDGER_SQLITE, params)
        conn.execute(_BALANCES_SQLITE, {"after": after})
        conn.execute(_PROGRESS_SQLITE, params)
        rows = conn.execute(_WRITTEN_SQLITE, {"after": after})
    return {row.period_id: (int(row.rows), int(row.tickets)) for row in rows}
