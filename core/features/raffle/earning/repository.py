"""Raffle tables: watchtime progress (baselines and hours paid) and gifted subs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, utc
from core.features.raffle.earning import conversions_repository
from core.features.raffle.tables import raffle_gifts, raffle_watch_progress
from core.features.watchtime.tables import watchtime
from core.storage.db import insert_for

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


def convert_watch_hours(
    conn: Connection, guild_id: int, period_id: int, rate: int, now: datetime
) -> tuple[int, int]:
    """Turn every full hour watched in the period and not paid yet into tickets, for the whole
    guild at once; return ``(ledger rows written, tickets)``.

    The caller holds the period open (``periods_repository.hold_open_period``). Each viewer's
    ledger reference is ``<platform>:<user id>:<hours>`` (the hours reached), worth
    ``rate x`` the hours since the last payment; the hours paid move in the same transaction.
    """
    held = conversions_repository.HeldPeriod(guild_id, period_id, rate)
    paid = conversions_repository.convert_watch_hours_many(conn, [held], now)
    return paid.get(period_id, (0, 0))


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


def gift_received_at(conn: Connection, guild_id: int, reference: str) -> datetime | None:
    """When the guild's gift under ``reference`` was received (the latest, if several)."""
    g = raffle_gifts.c
    query = (
        sa.select(g.received_at)
        .where(g.guild_id == guild_id, g.reference == reference)
        .order_by(g.id.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return None if found is None else utc(found)


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
