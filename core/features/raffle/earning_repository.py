"""Raffle tables: watchtime progress (baselines and hours paid) and gifted subs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.raffle.tables import raffle_gifts, raffle_watch_progress
from core.features.watchtime.tables import watchtime
from core.storage.db import insert_for
from core.storage.schema import UTCDateTime

HOUR_SECONDS = 3600


@dataclass(frozen=True)
class Gift:
    id: int
    period_id: int
    reference: str
    platform: Platform
    platform_user_id: str
    gifter_name: str
    giftees: int
    tickets: int
    status: str  # pending, granted, voided
    release_at: datetime


# --- watchtime progress ----------------------------------------------------------------------


def take_watch_baselines(conn: Connection, guild_id: int, period_id: int) -> None:
    """Record every viewer's watchtime total now as the period's starting point."""
    source = sa.select(
        sa.literal(period_id, raffle_watch_progress.c.period_id.type),
        watchtime.c.platform,
        watchtime.c.platform_user_id,
        sa.literal(guild_id, raffle_watch_progress.c.guild_id.type),
        watchtime.c.seconds,
    ).where(watchtime.c.guild_id == guild_id)
    stmt = insert_for(conn, raffle_watch_progress).from_select(
        ["period_id", "platform", "platform_user_id", "guild_id", "baseline_seconds"], source
    )
    conn.execute(stmt.on_conflict_do_nothing())


def raise_watch_baseline(
    conn: Connection,
    guild_id: int,
    period_id: int,
    platform: Platform,
    platform_user_id: str,
    seconds: int,
) -> None:
    """Watchtime added to a viewer's total that was not watched in this period (another bot's,
    imported) moves their baseline up by as much, so it earns no watchtime tickets here. A
    viewer without a baseline had 0, which is what a new row starts from."""
    stmt = insert_for(conn, raffle_watch_progress).values(
        period_id=period_id,
        platform=str(platform),
        platform_user_id=platform_user_id,
        guild_id=guild_id,
        baseline_seconds=seconds,
        hours_awarded=0,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                raffle_watch_progress.c.period_id,
                raffle_watch_progress.c.platform,
                raffle_watch_progress.c.platform_user_id,
            ],
            set_={"baseline_seconds": raffle_watch_progress.c.baseline_seconds + seconds},
        )
    )


_DUE = """
due AS (
    SELECT w.platform, w.platform_user_id,
           (w.seconds - COALESCE(p.baseline_seconds, 0)) / 3600 AS hours,
           COALESCE(p.hours_awarded, 0) AS previous,
           p.period_id IS NOT NULL AS tracked
    FROM watchtime AS w
    LEFT JOIN raffle_watch_progress AS p
      ON p.period_id = :period_id AND p.platform = w.platform
         AND p.platform_user_id = w.platform_user_id
    WHERE w.guild_id = :guild_id
      AND w.seconds - COALESCE(p.baseline_seconds, 0) >= (COALESCE(p.hours_awarded, 0) + 1) * 3600
)"""

# PostgreSQL: one statement. Progress moves by compare-and-set (a row another converter moved
# meanwhile is re-checked and skipped; a new row that lost the race conflicts and is skipped),
# and only the hours that moved become ledger rows and balances.
_CONVERT_POSTGRES = sa.text(
    "WITH"  # noqa: S608 (constant text: the parameters are bound)
    + _DUE
    + """,
advanced AS (
    UPDATE raffle_watch_progress AS p SET hours_awarded = due.hours
    FROM due
    WHERE due.tracked AND p.period_id = :period_id AND p.platform = due.platform
      AND p.platform_user_id = due.platform_user_id AND p.hours_awarded = due.previous
    RETURNING p.platform, p.platform_user_id, due.hours, due.previous
),
started AS (
    INSERT INTO raffle_watch_progress
        (period_id, platform, platform_user_id, guild_id, baseline_seconds, hours_awarded)
    SELECT :period_id, platform, platform_user_id, :guild_id, 0, hours FROM due
    WHERE NOT tracked
    ON CONFLICT (period_id, platform, platform_user_id) DO NOTHING
    RETURNING platform, platform_user_id, CAST(hours_awarded AS BIGINT) AS hours, 0 AS previous
),
paid AS (SELECT * FROM advanced UNION ALL SELECT * FROM started),
added AS (
    INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
        source, source_ref, actor_id, reason, created_at)
    SELECT :guild_id, :period_id, platform, platform_user_id, (hours - previous) * :rate,
           'watchtime', platform || ':' || platform_user_id || ':' || hours, NULL,
           hours || ' h watched', :now
    FROM paid WHERE (hours - previous) * :rate <> 0
    ORDER BY platform, platform_user_id
    ON CONFLICT (period_id, source, source_ref) DO NOTHING
    RETURNING platform, platform_user_id, amount
),
moved AS (
    INSERT INTO raffle_balances AS b (period_id, platform, platform_user_id, guild_id, tickets)
    SELECT :period_id, platform, platform_user_id, :guild_id, amount FROM added
    ON CONFLICT (period_id, platform, platform_user_id)
    DO UPDATE SET tickets = b.tickets + excluded.tickets
)
SELECT count(*), COALESCE(sum(amount), 0) FROM added
"""
).bindparams(sa.bindparam("now", type_=UTCDateTime()))

# SQLite has one writer at a time, so three statements in the caller's transaction see no one
# else: the ledger rows (from the progress as it was), the balances from the rows just written,
# then the progress.
_LEDGER_SQLITE = sa.text(
    "WITH"
    + _DUE
    + """
INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount,
    source, source_ref, actor_id, reason, created_at)
SELECT :guild_id, :period_id, platform, platform_user_id, (hours - previous) * :rate,
       'watchtime', platform || ':' || platform_user_id || ':' || hours, NULL,
       hours || ' h watched', :now
FROM due WHERE (hours - previous) * :rate <> 0
ORDER BY platform, platform_user_id
ON CONFLICT (period_id, source, source_ref) DO NOTHING
"""
).bindparams(sa.bindparam("now", type_=UTCDateTime()))

_BALANCES_SQLITE = sa.text("""
INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, tickets)
SELECT period_id, platform, platform_user_id, guild_id, amount FROM raffle_ledger
WHERE id > :after AND period_id = :period_id AND source = 'watchtime'
ON CONFLICT (period_id, platform, platform_user_id)
DO UPDATE SET tickets = raffle_balances.tickets + excluded.tickets
""")

_PROGRESS_SQLITE = sa.text(
    "WITH"
    + _DUE
    + """
INSERT INTO raffle_watch_progress
    (period_id, platform, platform_user_id, guild_id, baseline_seconds, hours_awarded)
SELECT :period_id, platform, platform_user_id, :guild_id, 0, hours FROM due WHERE true
ON CONFLICT (period_id, platform, platform_user_id)
DO UPDATE SET hours_awarded = excluded.hours_awarded
"""
)

_LAST_LEDGER_ID = sa.text("SELECT COALESCE(MAX(id), 0) FROM raffle_ledger")
_WRITTEN_SQLITE = sa.text(
    "SELECT count(*), COALESCE(sum(amount), 0) FROM raffle_ledger "
    "WHERE id > :after AND period_id = :period_id AND source = 'watchtime'"
)


def convert_watch_hours(
    conn: Connection, guild_id: int, period_id: int, rate: int, now: datetime
) -> tuple[int, int]:
    """Turn every full hour watched in the period and not paid yet into tickets, for the whole
    guild at once; return ``(ledger rows written, tickets)``.

    The caller holds the period open (``periods_repository.hold_open_period``). Each viewer's
    ledger reference is ``<platform>:<user id>:<hours>`` (the hours reached), worth
    ``rate x`` the hours since the last payment; the hours paid move in the same transaction.
    """
    params = {"guild_id": guild_id, "period_id": period_id, "rate": rate, "now": now}
    if conn.dialect.name == "postgresql":
        rows, tickets = conn.execute(_CONVERT_POSTGRES, params).one()
        return int(rows), int(tickets)
    after = conn.execute(_LAST_LEDGER_ID).scalar_one()
    conn.execute(_LEDGER_SQLITE, params)
    conn.execute(_BALANCES_SQLITE, {"after": after, "period_id": period_id})
    conn.execute(_PROGRESS_SQLITE, params)
    rows, tickets = conn.execute(_WRITTEN_SQLITE, {"after": after, "period_id": period_id}).one()
    return int(rows), int(tickets)


# --- gifts -----------------------------------------------------------------------------------


def add_gift(
    conn: Connection,
    *,
    guild_id: int,
    period_id: int,
    reference: str,
    platform: Platform,
    platform_user_id: str,
    gifter_name: str,
    giftees: int,
    tickets: int,
    received_at: datetime,
    release_at: datetime,
) -> bool:
    """Record a gift as pending; False when the period already has one with this reference."""
    stmt = (
        insert_for(conn, raffle_gifts)
        .values(
            guild_id=guild_id,
            period_id=period_id,
            reference=reference,
            platform=str(platform),
            platform_user_id=platform_user_id,
            gifter_name=gifter_name[:100],
            giftees=giftees,
            tickets=tickets,
            status="pending",
            received_at=received_at,
            release_at=release_at,
        )
        .on_conflict_do_nothing()
        .returning(raffle_gifts.c.id)
    )
    return conn.execute(stmt).first() is not None


def find_gift(conn: Connection, guild_id: int, reference: str) -> Gift | None:
    query = (
        sa.select(raffle_gifts)
        .where(raffle_gifts.c.guild_id == guild_id, raffle_gifts.c.reference == reference)
        .order_by(raffle_gifts.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _gift(row)


def list_gifts_due(conn: Connection, now: datetime, period_id: int | None = None) -> list[Gift]:
    """Pending gifts whose hold is over (all pending gifts of ``period_id`` when given)."""
    g = raffle_gifts.c
    condition = g.period_id == period_id if period_id is not None else g.release_at <= now
    query = sa.select(raffle_gifts).where(g.status == "pending", condition).order_by(g.id)
    return [_gift(row) for row in conn.execute(query)]


def list_recent_gifts(conn: Connection, guild_id: int, period_id: int, limit: int) -> list[Gift]:
    g = raffle_gifts.c
    query = (
        sa.select(raffle_gifts)
        .where(g.guild_id == guild_id, g.period_id == period_id)
        .order_by(g.id.desc())
        .limit(limit)
    )
    return [_gift(row) for row in conn.execute(query)]


def set_gift_status(
    conn: Connection, gift_id: int, previous: str, status: str, voided_by: int | None = None
) -> bool:
    result = conn.execute(
        sa.update(raffle_gifts)
        .where(raffle_gifts.c.id == gift_id, raffle_gifts.c.status == previous)
        .values(status=status, voided_by=voided_by)
    )
    return result.rowcount == 1


def _gift(row: sa.Row) -> Gift:
    return Gift(
        id=row.id,
        period_id=row.period_id,
        reference=row.reference,
        platform=Platform(row.platform),
        platform_user_id=row.platform_user_id,
        gifter_name=row.gifter_name,
        giftees=row.giftees,
        tickets=row.tickets,
        status=row.status,
        release_at=row.release_at,
    )
