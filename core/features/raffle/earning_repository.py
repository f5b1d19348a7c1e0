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


@dataclass(frozen=True)
class WatchProgress:
    platform: Platform
    platform_user_id: str
    seconds: int
    baseline_seconds: int
    hours_awarded: int


def list_watch_hours_due(conn: Connection, guild_id: int, period_id: int) -> list[WatchProgress]:
    """Viewers of the guild with at least one full hour watched inside the period that is not
    turned into tickets yet, with the period's baseline (0 for viewers first seen after it
    opened) and the hours already paid. Runs after every tick, so the filter is in SQL: the
    guild's other viewers never leave the database."""
    w, p = watchtime, raffle_watch_progress
    joined = w.outerjoin(
        p,
        sa.and_(
            p.c.period_id == period_id,
            p.c.platform == w.c.platform,
            p.c.platform_user_id == w.c.platform_user_id,
        ),
    )
    baseline = sa.func.coalesce(p.c.baseline_seconds, 0)
    hours_awarded = sa.func.coalesce(p.c.hours_awarded, 0)
    query = (
        sa.select(
            w.c.platform,
            w.c.platform_user_id,
            w.c.seconds,
            baseline.label("baseline_seconds"),
            hours_awarded.label("hours_awarded"),
        )
        .select_from(joined)
        .where(
            w.c.guild_id == guild_id,
            w.c.seconds - baseline >= (hours_awarded + 1) * HOUR_SECONDS,
        )
        .order_by(w.c.platform, w.c.platform_user_id)
    )
    return [
        WatchProgress(
            Platform(row.platform),
            row.platform_user_id,
            int(row.seconds),
            int(row.baseline_seconds),
            int(row.hours_awarded),
        )
        for row in conn.execute(query)
    ]


def advance_watch_hours(
    conn: Connection,
    guild_id: int,
    period_id: int,
    platform: Platform,
    platform_user_id: str,
    previous: int,
    hours: int,
) -> bool:
    """Compare-and-set the hours turned into tickets from ``previous`` to ``hours``."""
    stmt = insert_for(conn, raffle_watch_progress).values(
        period_id=period_id,
        platform=str(platform),
        platform_user_id=platform_user_id,
        guild_id=guild_id,
        baseline_seconds=0,
        hours_awarded=hours,
    )
    if previous == 0:
        # A viewer first seen after the period opened has no row yet.
        inserted = conn.execute(
            stmt.on_conflict_do_nothing().returning(raffle_watch_progress.c.period_id)
        ).first()
        if inserted is not None:
            return True
    result = conn.execute(
        sa.update(raffle_watch_progress)
        .where(
            raffle_watch_progress.c.period_id == period_id,
            raffle_watch_progress.c.platform == str(platform),
            raffle_watch_progress.c.platform_user_id == platform_user_id,
            raffle_watch_progress.c.hours_awarded == previous,
        )
        .values(hours_awarded=hours)
    )
    return result.rowcount == 1


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
