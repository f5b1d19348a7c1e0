"""Writing tickets: ledger rows and the balances they move, one award or a crowd at once.

Every award is a ledger row unique by ``(period_id, source, source_ref)`` for an open period of
its guild, and the balance moves by exactly what was inserted, in the caller's transaction.

The statements are SQL text built once per dialect, so SQLAlchemy caches their compiled form
(the dialects' ``insert()`` with ON CONFLICT has no cache key and would be compiled on every
call). On PostgreSQL one statement does it all: the period row is read ``FOR KEY SHARE`` (the
lock the ledger's foreign key takes anyway; it conflicts with the close's ``FOR UPDATE`` and
with nothing else), so a close waits for the awards in flight and an award that waited sees the
period closed and inserts nothing. SQLite runs one writer at a time (``BEGIN IMMEDIATE``), so
the status check in the INSERT is enough there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.live.changes import touch
from core.features.raffle.ports import TICKETS_AWARDED, TicketsAwarded
from core.storage import hooks
from core.storage.schema import UTCDateTime

SOURCES = ("watchtime", "gift", "wager", "admin", "import")
MAX_AMOUNT = 2**31 - 1  # the most one ledger row holds (raffle_ledger.amount is an INTEGER)


@dataclass(frozen=True)
class TicketAward:
    """One ledger row to write."""

    guild_id: int
    period_id: int
    platform: Platform
    platform_user_id: str
    amount: int
    source: str
    source_ref: str
    actor_id: int | None
    reason: str
    at: datetime

    @property
    def key(self) -> tuple[int, str, str]:
        """What makes it unique in the ledger."""
        return (self.period_id, self.source, self.source_ref[:255])


_TIME = sa.bindparam("created_at", type_=UTCDateTime())

_ONE_POSTGRES = sa.text("""
WITH added AS (
    INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
        source, source_ref, actor_id, reason, created_at)
    SELECT p.guild_id, p.id, :platform, :platform_user_id, CAST(:amount AS INTEGER), :source,
           :source_ref, CAST(:actor_id AS BIGINT), :reason, :created_at
    FROM raffle_periods AS p
    WHERE p.id = :period_id AND p.guild_id = :guild_id AND p.status = 'open'
    FOR KEY SHARE
    ON CONFLICT (period_id, source, source_ref) DO NOTHING
    RETURNING period_id, platform, platform_user_id, guild_id, amount
)
INSERT INTO raffle_balances AS b (period_id, platform, platform_user_id, guild_id, tickets)
SELECT period_id, platform, platform_user_id, guild_id, amount FROM added
ON CONFLICT (period_id, platform, platform_user_id)
DO UPDATE SET tickets = b.tickets + excluded.tickets
RETURNING b.tickets
""").bindparams(_TIME)

_ONE_SQLITE = sa.text("""
INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
        source, source_ref, actor_id, reason, created_at)
SELECT p.guild_id, p.id, :platform, :platform_user_id, :amount, :source, :source_ref,
       :actor_id, :reason, :created_at
FROM raffle_periods AS p
WHERE p.id = :period_id AND p.guild_id = :guild_id AND p.status = 'open'
ON CONFLICT (period_id, source, source_ref) DO NOTHING
RETURNING id
""").bindparams(_TIME)

_BALANCE_SQLITE = sa.text("""
INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, tickets)
VALUES (:period_id, :platform, :platform_user_id, :guild_id, :amount)
ON CONFLICT (period_id, platform, platform_user_id)
DO UPDATE SET tickets = raffle_balances.tickets + excluded.tickets
""")

# A crowd: the rows travel as one JSON array (one parameter, however many rows), in order;
# within the batch the first row with a key wins, as if they were awarded one by one.
_MANY_POSTGRES = sa.text("""
WITH given AS (
    SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(
        n INTEGER, guild_id BIGINT, period_id BIGINT, platform TEXT, platform_user_id TEXT,
        amount INTEGER, source TEXT, source_ref TEXT, actor_id BIGINT, reason TEXT,
        created_at TIMESTAMPTZ)
),
open_periods AS (
    SELECT p.id, p.guild_id FROM raffle_periods AS p
    WHERE p.id IN (SELECT DISTINCT period_id FROM given) AND p.status = 'open'
    FOR KEY SHARE
),
added AS (
    INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
        source, source_ref, actor_id, reason, created_at)
    SELECT g.guild_id, g.period_id, g.platform, g.platform_user_id, g.amount, g.source,
           g.source_ref, g.actor_id, g.reason, g.created_at
    FROM given AS g JOIN open_periods AS o ON o.id = g.period_id AND o.guild_id = g.guild_id
    ORDER BY g.n
    ON CONFLICT (period_id, source, source_ref) DO NOTHING
    RETURNING period_id, platform, platform_user_id, guild_id, amount, source, source_ref
),
moved AS (
    INSERT INTO raffle_balances AS b (period_id, platform, platform_user_id, guild_id, tickets)
    SELECT period_id, platform, platform_user_id, min(guild_id), sum(amount) FROM added
    GROUP BY period_id, platform, platform_user_id
    ON CONFLICT (period_id, platform, platform_user_id)
    DO UPDATE SET tickets = b.tickets + excluded.tickets
)
SELECT period_id, source, source_ref FROM added
""")

_MANY_SQLITE = sa.text("""
WITH given AS (
    SELECT r.key AS n, r.value ->> '$.guild_id' AS guild_id,
           r.value ->> '$.period_id' AS period_id, r.value ->> '$.platform' AS platform,
           r.value ->> '$.platform_user_id' AS platform_user_id,
           r.value ->> '$.amount' AS amount, r.value ->> '$.source' AS source,
           r.value ->> '$.source_ref' AS source_ref, r.value ->> '$.actor_id' AS actor_id,
           r.value ->> '$.reason' AS reason, r.value ->> '$.created_at' AS created_at
    FROM json_each(:rows) AS r
)
INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
        source, source_ref, actor_id, reason, created_at)
SELECT g.guild_id, g.period_id, g.platform, g.platform_user_id, g.amount, g.source,
       g.source_ref, g.actor_id, g.reason, g.created_at
FROM given AS g JOIN raffle_periods AS p
  ON p.id = g.period_id AND p.guild_id = g.guild_id AND p.status = 'open'
WHERE true
ORDER BY g.n
ON CONFLICT (period_id, source, source_ref) DO NOTHING
RETURNING period_id, platform, platform_user_id, guild_id, amount, source, source_ref
""")


def _check(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown ticket source {source!r}")


def _columns(row: TicketAward) -> dict[str, Any]:
    """The ledger row's values but its time (bound as a time for one row, as text in a batch's
    JSON), cut to the columns' lengths."""
    return {
        "guild_id": row.guild_id,
        "period_id": row.period_id,
        "platform": str(row.platform),
        "platform_user_id": row.platform_user_id,
        "amount": row.amount,
        "source": row.source,
        "source_ref": row.source_ref[:255],
        "actor_id": row.actor_id,
        "reason": row.reason[:200],
    }


def award(conn: Connection, row: TicketAward) -> bool:
    """Write one award; False (and nothing changed) for a key already in the ledger or a
    period that is not an open period of ``row.guild_id``."""
    _check(row.source)
    params = {**_columns(row), "created_at": row.at}
    if conn.dialect.name == "postgresql":
        written = conn.execute(_ONE_POSTGRES, params).first() is not None
    elif conn.execute(_ONE_SQLITE, params).first() is None:
        written = False
    else:
        conn.execute(_BALANCE_SQLITE, params)
        written = True
    if written:
        touch(conn, row.guild_id, "raffle")  # the dashboard's standings hear of it
        _tell_awarded(conn, [row])
    return written


def _tell_awarded(conn: Connection, rows: Sequence[TicketAward]) -> None:
    if rows and hooks.has_listeners(conn, TICKETS_AWARDED):
        awarded = [
            TicketsAwarded(r.guild_id, r.period_id, str(r.platform), r.platform_user_id, r.amount)
            for r in rows
        ]
        hooks.emit(conn, TICKETS_AWARDED, awarded)


def _written_rows(
    rows: Sequence[TicketAward], keys: set[tuple[int, str, str]]
) -> list[TicketAward]:
    """The rows behind the written ``keys``: the first row of each key, as the insert took."""
    taken, found = set(), []
    for row in rows:
        if row.key in keys and row.key not in taken:
            taken.add(row.key)
            found.append(row)
    return found


def award_many(conn: Connection, rows: Sequence[TicketAward]) -> set[tuple[int, str, str]]:
    """Write many awards with one statement (two on SQLite); return the keys actually written.

    Rows whose key is already in the ledger, repeats of a key earlier in ``rows`` and rows for
    a period that is not open are skipped; the balances move by exactly what was written.
    """
    if not rows:
        return set()
    for row in rows:
        _check(row.source)
    sqlite = conn.dialect.name == "sqlite"
    payload = json.dumps(
        [
            {
                "n": n,
                **_columns(row),
                "created_at": _sqlite_time(row.at) if sqlite else utc(row.at).isoformat(),
            }
            for n, row in enumerate(rows)
        ],
        ensure_ascii=False,
    )
    for guild_id in {row.guild_id for row in rows}:
        touch(conn, guild_id, "raffle")  # the dashboard's standings hear of it
    if not sqlite:
        written = {tuple(key) for key in conn.execute(_MANY_POSTGRES, {"rows": payload})}
        _tell_awarded(conn, _written_rows(rows, written))  # type: ignore[arg-type]
        return written  # type: ignore[return-value]
    added = conn.execute(_MANY_SQLITE, {"rows": payload}).all()
    moved: dict[tuple[int, str, str], list] = {}
    for row in added:
        balance = moved.setdefault(
            (row.period_id, row.platform, row.platform_user_id), [row.guild_id, 0]
        )
        balance[1] += row.amount
    if moved:
        conn.execute(
            _BALANCE_SQLITE,
            [
                {
                    "period_id": period_id,
                    "platform": platform,
                    "platform_user_id": user_id,
                    "guild_id": guild_id,
                    "amount": amount,
                }
                for (period_id, platform, user_id), (guild_id, amount) in moved.items()
            ],
        )
    written = {(row.period_id, row.source, row.source_ref) for row in added}
    _tell_awarded(conn, _written_rows(rows, written))
    return written


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy stores for a UTC time on SQLite (naive, microseconds always)."""
    return utc(moment).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
