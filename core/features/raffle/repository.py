"""Raffle tables: settings, periods, the ticket ledger and balances, gifts, exclusions, draws.

The ledger is append-only: a change of tickets is a new row, unique by
``(period_id, source, source_ref)``, and the balance moves in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.storage.db import insert_for
from core.storage.tables import (
    account_links,
    raffle_balances,
    raffle_draws,
    raffle_exclusions,
    raffle_gifts,
    raffle_ledger,
    raffle_periods,
    raffle_settings,
    raffle_watch_progress,
    raffle_winners,
    viewers,
    watchtime,
)

SOURCES = ("watchtime", "gift", "wager", "admin")
CURRENT_STATUSES = ("scheduled", "open")


@dataclass(frozen=True)
class GuildRaffleSettings:
    watch_hour_tickets: int = 10
    gifted_sub_tickets: int = 15
    wager_thousand_tickets: int = 20
    gift_hold_minutes: int = 0
    auto_draw: bool | None = None  # None: RAFFLE_AUTO_DRAW
    announcement_channel_id: int | None = None  # None: RAFFLE_ANNOUNCEMENT_CHANNEL_ID
    time_zone: str = "UTC"
    linked_only: bool = True
    running: bool = False


@dataclass(frozen=True)
class Period:
    id: int
    guild_id: int
    starts_at: datetime
    ends_at: datetime  # exclusive
    status: str  # scheduled, open, closed
    commitment: str
    seed: str = field(repr=False)
    beacon_round: int | None = None
    beacon_genesis_time: int | None = None
    beacon_period_seconds: int | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    snapshot_hash: str | None = None
    eligible: tuple[str, ...] | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    period_id: int
    platform: Platform
    platform_user_id: str
    amount: int
    source: str
    source_ref: str
    actor_id: int | None
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class Balance:
    platform: Platform
    platform_user_id: str
    username: str
    tickets: int


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


@dataclass(frozen=True)
class Exclusion:
    platform: Platform
    platform_user_id: str
    username: str


@dataclass(frozen=True)
class Winner:
    position: int
    platform: Platform
    platform_user_id: str
    ticket: int
    counter: int


@dataclass(frozen=True)
class Draw:
    id: int
    guild_id: int
    period_id: int
    status: str  # waiting, done
    winners_wanted: int
    prize: str
    reroll_of: int | None
    reason: str
    requested_by: int | None
    requested_at: datetime
    forced: bool
    forced_by: int | None
    beacon_round: int | None
    beacon_randomness: str | None
    first_counter: int | None
    drawn_at: datetime | None
    attempts: int
    last_error: str | None
    winners: tuple[Winner, ...] = ()


# --- settings --------------------------------------------------------------------------------


def get_settings(conn: Connection, guild_id: int) -> GuildRaffleSettings:
    row = conn.execute(
        sa.select(raffle_settings).where(raffle_settings.c.guild_id == guild_id)
    ).first()
    if row is None:
        return GuildRaffleSettings()
    return GuildRaffleSettings(
        watch_hour_tickets=row.watch_hour_tickets,
        gifted_sub_tickets=row.gifted_sub_tickets,
        wager_thousand_tickets=row.wager_thousand_tickets,
        gift_hold_minutes=row.gift_hold_minutes,
        auto_draw=row.auto_draw,
        announcement_channel_id=row.announcement_channel_id,
        time_zone=row.time_zone,
        linked_only=bool(row.linked_only),
        running=bool(row.running),
    )


def update_settings(conn: Connection, guild_id: int, **values: object) -> None:
    """Set the given columns of the guild's settings, creating the row with defaults."""
    stmt = insert_for(conn, raffle_settings).values(guild_id=guild_id, **values)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[raffle_settings.c.guild_id], set_=values)
    )


def list_running_guild_ids(conn: Connection) -> list[int]:
    query = sa.select(raffle_settings.c.guild_id).where(raffle_settings.c.running.is_(True))
    return list(conn.execute(query.order_by(raffle_settings.c.guild_id)).scalars())


# --- periods ---------------------------------------------------------------------------------


def create_period(
    conn: Connection,
    *,
    guild_id: int,
    starts_at: datetime,
    ends_at: datetime,
    status: str,
    seed: str,
    commitment: str,
    now: datetime,
) -> int | None:
    """Insert a period; None when the guild already has one open or scheduled."""
    stmt = (
        insert_for(conn, raffle_periods)
        .values(
            guild_id=guild_id,
            starts_at=starts_at,
            ends_at=ends_at,
            status=status,
            seed=seed,
            commitment=commitment,
            created_at=now,
            opened_at=now if status == "open" else None,
        )
        .on_conflict_do_nothing()
        .returning(raffle_periods.c.id)
    )
    return conn.execute(stmt).scalar()


def find_open_period(conn: Connection, guild_id: int) -> Period | None:
    """The guild's open period (at most one), or None."""
    return _find_period(conn, guild_id, raffle_periods.c.status == "open")


def find_current_period(conn: Connection, guild_id: int) -> Period | None:
    """The guild's open or scheduled period, or None."""
    return _find_period(conn, guild_id, raffle_periods.c.status.in_(CURRENT_STATUSES))


def find_period(conn: Connection, guild_id: int, period_id: int) -> Period | None:
    return _find_period(conn, guild_id, raffle_periods.c.id == period_id)


def find_last_closed_period(conn: Connection, guild_id: int) -> Period | None:
    query = (
        sa.select(raffle_periods)
        .where(raffle_periods.c.guild_id == guild_id, raffle_periods.c.status == "closed")
        .order_by(raffle_periods.c.ends_at.desc(), raffle_periods.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _period(row)


def get_period(conn: Connection, period_id: int) -> Period:
    """A period known to exist."""
    return _period(
        conn.execute(sa.select(raffle_periods).where(raffle_periods.c.id == period_id)).one()
    )


def find_period_by_id(conn: Connection, period_id: int) -> Period | None:
    """A period of any guild (for the operator's export command)."""
    row = conn.execute(sa.select(raffle_periods).where(raffle_periods.c.id == period_id)).first()
    return None if row is None else _period(row)


def _find_period(
    conn: Connection, guild_id: int, condition: sa.ColumnElement[bool]
) -> Period | None:
    query = sa.select(raffle_periods).where(raffle_periods.c.guild_id == guild_id, condition)
    row = conn.execute(query.order_by(raffle_periods.c.id.desc()).limit(1)).first()
    return None if row is None else _period(row)


def list_periods_due(conn: Connection, now: datetime) -> list[Period]:
    """Open periods that have ended and scheduled ones that have started, oldest first."""
    p = raffle_periods.c
    query = sa.select(raffle_periods).where(
        sa.or_(
            sa.and_(p.status == "open", p.ends_at <= now),
            sa.and_(p.status == "scheduled", p.starts_at <= now),
        )
    )
    return [_period(row) for row in conn.execute(query.order_by(p.ends_at, p.id))]


def list_periods_without_round(conn: Connection) -> list[Period]:
    p = raffle_periods.c
    query = sa.select(raffle_periods).where(
        p.status.in_(CURRENT_STATUSES), p.beacon_round.is_(None)
    )
    return [_period(row) for row in conn.execute(query.order_by(p.id))]


def mark_period_open(conn: Connection, period_id: int, now: datetime) -> bool:
    """Scheduled -> open; False when another process did it first."""
    result = conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id, raffle_periods.c.status == "scheduled")
        .values(status="open", opened_at=now)
    )
    return result.rowcount == 1


def set_period_dates(
    conn: Connection, period_id: int, starts_at: datetime, ends_at: datetime
) -> None:
    conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id)
        .values(starts_at=starts_at, ends_at=ends_at, beacon_round=None)
    )


def set_beacon_round(
    conn: Connection, period_id: int, beacon_round: int, genesis_time: int, period_seconds: int
) -> None:
    conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id)
        .values(
            beacon_round=beacon_round,
            beacon_genesis_time=genesis_time,
            beacon_period_seconds=period_seconds,
        )
    )


def lock_period_for_close(conn: Connection, period_id: int) -> bool:
    """Mark the open period as closing by taking its row lock (PostgreSQL) and checking it is
    still open. Ledger writers hold a share lock on the same row, so none is half-way."""
    query = (
        sa.select(raffle_periods.c.status).where(raffle_periods.c.id == period_id).with_for_update()
    )
    return conn.execute(query).scalar() == "open"


def close_period(
    conn: Connection,
    period_id: int,
    *,
    now: datetime,
    ends_at: datetime,
    snapshot_hash: str,
    eligible: list[str],
) -> bool:
    result = conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id, raffle_periods.c.status == "open")
        .values(
            status="closed",
            closed_at=now,
            ends_at=ends_at,
            snapshot_hash=snapshot_hash,
            eligible=json.dumps(eligible),
        )
    )
    return result.rowcount == 1


def _period(row: sa.Row) -> Period:
    return Period(
        id=row.id,
        guild_id=row.guild_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=row.status,
        commitment=row.commitment,
        seed=row.seed,
        beacon_round=row.beacon_round,
        beacon_genesis_time=row.beacon_genesis_time,
        beacon_period_seconds=row.beacon_period_seconds,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        snapshot_hash=row.snapshot_hash,
        eligible=None if row.eligible is None else tuple(json.loads(row.eligible)),
    )


# --- the ledger ------------------------------------------------------------------------------


def add_ledger_entry(
    conn: Connection,
    *,
    guild_id: int,
    period_id: int,
    platform: Platform,
    platform_user_id: str,
    amount: int,
    source: str,
    source_ref: str,
    actor_id: int | None,
    reason: str,
    at: datetime,
) -> bool:
    """Append one ledger row and move the viewer's balance, in the caller's transaction.

    Returns False and changes nothing when ``(period_id, source, source_ref)`` is already in the
    ledger (a replay, a second source, a concurrent duplicate) or the period is not open.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown ticket source {source!r}")
    # A share lock on the period: closing it (which takes the row lock) waits for this
    # transaction, so no entry slips in after the ledger was frozen.
    status = conn.execute(
        sa.select(raffle_periods.c.status)
        .where(raffle_periods.c.id == period_id, raffle_periods.c.guild_id == guild_id)
        .with_for_update(read=True)
    ).scalar()
    if status != "open":
        return False
    inserted = conn.execute(
        insert_for(conn, raffle_ledger)
        .values(
            guild_id=guild_id,
            period_id=period_id,
            platform=str(platform),
            platform_user_id=platform_user_id,
            amount=amount,
            source=source,
            source_ref=source_ref[:255],
            actor_id=actor_id,
            reason=reason[:200],
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(raffle_ledger.c.id)
    ).first()
    if inserted is None:
        return False
    stmt = insert_for(conn, raffle_balances).values(
        period_id=period_id,
        platform=str(platform),
        platform_user_id=platform_user_id,
        guild_id=guild_id,
        tickets=amount,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(raffle_balances.primary_key.columns),
            set_={"tickets": raffle_balances.c.tickets + stmt.excluded.tickets},
        )
    )
    return True


def ledger_entry_exists(conn: Connection, period_id: int, source: str, source_ref: str) -> bool:
    query = sa.select(raffle_ledger.c.id).where(
        raffle_ledger.c.period_id == period_id,
        raffle_ledger.c.source == source,
        raffle_ledger.c.source_ref == source_ref,
    )
    return conn.execute(query).first() is not None


def list_ledger(conn: Connection, guild_id: int, period_id: int) -> list[LedgerEntry]:
    query = (
        sa.select(raffle_ledger)
        .where(raffle_ledger.c.guild_id == guild_id, raffle_ledger.c.period_id == period_id)
        .order_by(raffle_ledger.c.id)
    )
    return [_entry(row) for row in conn.execute(query)]


def list_viewer_ledger(
    conn: Connection,
    guild_id: int,
    period_id: int,
    platform: Platform,
    platform_user_id: str,
    limit: int,
) -> list[LedgerEntry]:
    query = (
        sa.select(raffle_ledger)
        .where(
            raffle_ledger.c.guild_id == guild_id,
            raffle_ledger.c.period_id == period_id,
            raffle_ledger.c.platform == str(platform),
            raffle_ledger.c.platform_user_id == platform_user_id,
        )
        .order_by(raffle_ledger.c.id.desc())
        .limit(limit)
    )
    return [_entry(row) for row in conn.execute(query)]


def tickets_by_source(
    conn: Connection, guild_id: int, period_id: int, platform: Platform, platform_user_id: str
) -> dict[str, int]:
    query = (
        sa.select(raffle_ledger.c.source, sa.func.sum(raffle_ledger.c.amount))
        .where(
            raffle_ledger.c.guild_id == guild_id,
            raffle_ledger.c.period_id == period_id,
            raffle_ledger.c.platform == str(platform),
            raffle_ledger.c.platform_user_id == platform_user_id,
        )
        .group_by(raffle_ledger.c.source)
    )
    return {source: int(total) for source, total in conn.execute(query)}


def period_totals_by_source(conn: Connection, guild_id: int, period_id: int) -> dict[str, int]:
    query = (
        sa.select(raffle_ledger.c.source, sa.func.sum(raffle_ledger.c.amount))
        .where(raffle_ledger.c.guild_id == guild_id, raffle_ledger.c.period_id == period_id)
        .group_by(raffle_ledger.c.source)
    )
    return {source: int(total) for source, total in conn.execute(query)}


def count_ledger_entries(conn: Connection, guild_id: int, period_id: int) -> int:
    query = sa.select(sa.func.count()).where(
        raffle_ledger.c.guild_id == guild_id, raffle_ledger.c.period_id == period_id
    )
    return int(conn.execute(query).scalar_one())


def _entry(row: sa.Row) -> LedgerEntry:
    return LedgerEntry(
        id=row.id,
        period_id=row.period_id,
        platform=Platform(row.platform),
        platform_user_id=row.platform_user_id,
        amount=row.amount,
        source=row.source,
        source_ref=row.source_ref,
        actor_id=row.actor_id,
        reason=row.reason,
        created_at=row.created_at,
    )


# --- balances --------------------------------------------------------------------------------


def _balances_with_names(guild_id: int, period_id: int) -> sa.Select:
    b, v = raffle_balances, viewers
    return (
        sa.select(
            b.c.platform,
            b.c.platform_user_id,
            sa.func.coalesce(v.c.username, b.c.platform_user_id).label("username"),
            b.c.tickets,
        )
        .select_from(
            b.outerjoin(
                v,
                sa.and_(v.c.platform == b.c.platform, v.c.platform_user_id == b.c.platform_user_id),
            )
        )
        .where(b.c.guild_id == guild_id, b.c.period_id == period_id)
    )


def _not_excluded(guild_id: int) -> sa.ColumnElement[bool]:
    e, b = raffle_exclusions, raffle_balances
    return ~sa.exists().where(
        e.c.guild_id == guild_id,
        e.c.platform == b.c.platform,
        e.c.platform_user_id == b.c.platform_user_id,
    )


def get_balance(
    conn: Connection, guild_id: int, period_id: int, platform: Platform, platform_user_id: str
) -> int:
    query = sa.select(raffle_balances.c.tickets).where(
        raffle_balances.c.guild_id == guild_id,
        raffle_balances.c.period_id == period_id,
        raffle_balances.c.platform == str(platform),
        raffle_balances.c.platform_user_id == platform_user_id,
    )
    return int(conn.execute(query).scalar() or 0)


def list_top_balances(
    conn: Connection, guild_id: int, period_id: int, limit: int | None = None
) -> list[Balance]:
    """Positive balances of viewers not excluded, most tickets first."""
    query = (
        _balances_with_names(guild_id, period_id)
        .where(raffle_balances.c.tickets > 0, _not_excluded(guild_id))
        .order_by(raffle_balances.c.tickets.desc(), raffle_balances.c.platform_user_id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        Balance(Platform(row.platform), row.platform_user_id, row.username, int(row.tickets))
        for row in conn.execute(query)
    ]


def count_balances_ahead(conn: Connection, guild_id: int, period_id: int, tickets: int) -> int:
    query = sa.select(sa.func.count()).where(
        raffle_balances.c.guild_id == guild_id,
        raffle_balances.c.period_id == period_id,
        raffle_balances.c.tickets > tickets,
        _not_excluded(guild_id),
    )
    return int(conn.execute(query).scalar_one())


def count_participants(conn: Connection, guild_id: int, period_id: int) -> int:
    """Viewers not excluded who hold tickets in the period."""
    query = sa.select(sa.func.count()).where(
        raffle_balances.c.guild_id == guild_id,
        raffle_balances.c.period_id == period_id,
        raffle_balances.c.tickets > 0,
        _not_excluded(guild_id),
    )
    return int(conn.execute(query).scalar_one())


def sum_tickets(conn: Connection, guild_id: int, period_id: int) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(raffle_balances.c.tickets), 0)).where(
        raffle_balances.c.guild_id == guild_id,
        raffle_balances.c.period_id == period_id,
        raffle_balances.c.tickets > 0,
        _not_excluded(guild_id),
    )
    return int(conn.execute(query).scalar_one())


def list_linked_accounts(conn: Connection, platform_ids: list[tuple[str, str]]) -> dict[str, int]:
    """``"platform:user_id"`` -> Discord user id, for those of ``platform_ids`` that are linked."""
    found: dict[str, int] = {}
    chunk = 500
    for start in range(0, len(platform_ids), chunk):
        part = platform_ids[start : start + chunk]
        query = sa.select(
            account_links.c.platform,
            account_links.c.platform_user_id,
            account_links.c.discord_user_id,
        ).where(sa.tuple_(account_links.c.platform, account_links.c.platform_user_id).in_(part))
        for row in conn.execute(query):
            found[f"{row.platform}:{row.platform_user_id}"] = row.discord_user_id
    return found


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


def list_watch_progress(conn: Connection, guild_id: int, period_id: int) -> list[WatchProgress]:
    """Every viewer with watchtime in the guild, with the period's baseline (0 for viewers first
    seen after it opened) and the hours already turned into tickets."""
    w, p = watchtime, raffle_watch_progress
    joined = w.outerjoin(
        p,
        sa.and_(
            p.c.period_id == period_id,
            p.c.platform == w.c.platform,
            p.c.platform_user_id == w.c.platform_user_id,
        ),
    )
    query = (
        sa.select(
            w.c.platform,
            w.c.platform_user_id,
            w.c.seconds,
            sa.func.coalesce(p.c.baseline_seconds, 0).label("baseline_seconds"),
            sa.func.coalesce(p.c.hours_awarded, 0).label("hours_awarded"),
        )
        .select_from(joined)
        .where(w.c.guild_id == guild_id)
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


# --- exclusions ------------------------------------------------------------------------------


def exclude(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    platform_user_id: str,
    username: str,
    actor_id: int,
    now: datetime,
) -> bool:
    stmt = (
        insert_for(conn, raffle_exclusions)
        .values(
            guild_id=guild_id,
            platform=str(platform),
            platform_user_id=platform_user_id,
            username=username[:100],
            excluded_by=actor_id,
            excluded_at=now,
        )
        .on_conflict_do_nothing()
        .returning(raffle_exclusions.c.guild_id)
    )
    return conn.execute(stmt).first() is not None


def include(conn: Connection, guild_id: int, platform: Platform, platform_user_id: str) -> bool:
    result = conn.execute(
        sa.delete(raffle_exclusions).where(
            raffle_exclusions.c.guild_id == guild_id,
            raffle_exclusions.c.platform == str(platform),
            raffle_exclusions.c.platform_user_id == platform_user_id,
        )
    )
    return result.rowcount == 1


def list_exclusions(conn: Connection, guild_id: int) -> list[Exclusion]:
    query = (
        sa.select(raffle_exclusions)
        .where(raffle_exclusions.c.guild_id == guild_id)
        .order_by(raffle_exclusions.c.platform, raffle_exclusions.c.platform_user_id)
    )
    return [
        Exclusion(Platform(row.platform), row.platform_user_id, row.username)
        for row in conn.execute(query)
    ]


# --- draws -----------------------------------------------------------------------------------


def create_draw(
    conn: Connection,
    *,
    guild_id: int,
    period_id: int,
    winners_wanted: int,
    prize: str,
    requested_by: int | None,
    now: datetime,
    reroll_of: int | None = None,
    reason: str = "",
) -> int:
    stmt = (
        sa.insert(raffle_draws)
        .values(
            guild_id=guild_id,
            period_id=period_id,
            status="waiting",
            winners_wanted=winners_wanted,
            prize=prize[:200],
            reroll_of=reroll_of,
            reason=reason[:200],
            requested_by=requested_by,
            requested_at=now,
        )
        .returning(raffle_draws.c.id)
    )
    return int(conn.execute(stmt).scalar_one())


def find_draw(conn: Connection, guild_id: int, draw_id: int) -> Draw | None:
    row = conn.execute(
        sa.select(raffle_draws).where(
            raffle_draws.c.guild_id == guild_id, raffle_draws.c.id == draw_id
        )
    ).first()
    return None if row is None else _draw(conn, row)


def list_draws_of_period(conn: Connection, guild_id: int, period_id: int) -> list[Draw]:
    query = (
        sa.select(raffle_draws)
        .where(raffle_draws.c.guild_id == guild_id, raffle_draws.c.period_id == period_id)
        .order_by(raffle_draws.c.id)
    )
    return [_draw(conn, row) for row in conn.execute(query)]


def find_last_draw(conn: Connection, guild_id: int) -> Draw | None:
    query = (
        sa.select(raffle_draws)
        .where(raffle_draws.c.guild_id == guild_id)
        .order_by(raffle_draws.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _draw(conn, row)


def list_waiting_draws(conn: Connection) -> list[Draw]:
    query = sa.select(raffle_draws).where(raffle_draws.c.status == "waiting")
    return [_draw(conn, row) for row in conn.execute(query.order_by(raffle_draws.c.id))]


def get_draw(conn: Connection, draw_id: int, *, lock: bool = False) -> Draw:
    """A draw known to exist; ``lock`` takes its row lock (PostgreSQL) so that two processes
    do not complete it twice."""
    query = sa.select(raffle_draws).where(raffle_draws.c.id == draw_id)
    return _draw(conn, conn.execute(query.with_for_update() if lock else query).one())


def note_draw_attempt(conn: Connection, draw_id: int, error: str) -> None:
    conn.execute(
        sa.update(raffle_draws)
        .where(raffle_draws.c.id == draw_id)
        .values(attempts=raffle_draws.c.attempts + 1, last_error=error[:200])
    )


def complete_draw(
    conn: Connection,
    draw_id: int,
    *,
    guild_id: int,
    now: datetime,
    forced: bool,
    beacon_round: int | None,
    beacon_randomness: str | None,
    first_counter: int,
    winners: list[Winner],
    forced_by: int | None = None,
) -> None:
    conn.execute(
        sa.update(raffle_draws)
        .where(raffle_draws.c.id == draw_id)
        .values(
            status="done",
            drawn_at=now,
            forced=forced,
            beacon_round=beacon_round,
            beacon_randomness=beacon_randomness,
            first_counter=first_counter,
            forced_by=forced_by,
            last_error=None,
        )
    )
    if winners:
        conn.execute(
            sa.insert(raffle_winners),
            [
                {
                    "draw_id": draw_id,
                    "position": winner.position,
                    "guild_id": guild_id,
                    "platform": str(winner.platform),
                    "platform_user_id": winner.platform_user_id,
                    "ticket": winner.ticket,
                    "counter": winner.counter,
                }
                for winner in winners
            ],
        )


def _draw(conn: Connection, row: sa.Row) -> Draw:
    winners = tuple(
        Winner(w.position, Platform(w.platform), w.platform_user_id, int(w.ticket), w.counter)
        for w in conn.execute(
            sa.select(raffle_winners)
            .where(raffle_winners.c.draw_id == row.id)
            .order_by(raffle_winners.c.position)
        )
    )
    return Draw(
        id=row.id,
        guild_id=row.guild_id,
        period_id=row.period_id,
        status=row.status,
        winners_wanted=row.winners_wanted,
        prize=row.prize,
        reroll_of=row.reroll_of,
        reason=row.reason,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        forced=bool(row.forced),
        forced_by=row.forced_by,
        beacon_round=row.beacon_round,
        beacon_randomness=row.beacon_randomness,
        first_counter=row.first_counter,
        drawn_at=row.drawn_at,
        attempts=row.attempts,
        last_error=row.last_error,
        winners=winners,
    )


def usernames_of(conn: Connection, platform_ids: list[tuple[str, str]]) -> dict[str, str]:
    """``"platform:user_id"`` -> current username, for those known."""
    found: dict[str, str] = {}
    for start in range(0, len(platform_ids), 500):
        part = platform_ids[start : start + 500]
        query = sa.select(viewers.c.platform, viewers.c.platform_user_id, viewers.c.username).where(
            sa.tuple_(viewers.c.platform, viewers.c.platform_user_id).in_(part)
        )
        for row in conn.execute(query):
            found[f"{row.platform}:{row.platform_user_id}"] = row.username
    return found


# --- announcements (an outbox of flags) ------------------------------------------------------


def list_unannounced_periods(conn: Connection) -> list[tuple[Period, str]]:
    """``(period, "opened" | "closed")`` for each announcement not posted yet, oldest first."""
    p = raffle_periods.c
    query = sa.select(raffle_periods).where(
        sa.or_(
            sa.and_(p.status == "open", p.open_announced.is_(False)),
            sa.and_(p.status == "closed", p.close_announced.is_(False)),
        )
    )
    # A period that opened and closed while nobody could post has only its close to announce.
    return [
        (period, "opened" if period.status == "open" else "closed")
        for period in (_period(row) for row in conn.execute(query.order_by(p.id)))
    ]


def mark_announced(conn: Connection, period_id: int, what: str) -> None:
    column = "open_announced" if what == "opened" else "close_announced"
    conn.execute(
        sa.update(raffle_periods).where(raffle_periods.c.id == period_id).values({column: True})
    )


def list_unannounced_draws(conn: Connection) -> list[Draw]:
    query = sa.select(raffle_draws).where(
        raffle_draws.c.status == "done", raffle_draws.c.announced.is_(False)
    )
    return [_draw(conn, row) for row in conn.execute(query.order_by(raffle_draws.c.id))]


def mark_draw_announced(conn: Connection, draw_id: int) -> None:
    conn.execute(sa.update(raffle_draws).where(raffle_draws.c.id == draw_id).values(announced=True))


def cancel_period(conn: Connection, period_id: int) -> None:
    """A scheduled period that never opened."""
    conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id, raffle_periods.c.status == "scheduled")
        .values(status="cancelled")
    )


def list_guild_ids_with_open_period(conn: Connection) -> list[int]:
    query = sa.select(raffle_periods.c.guild_id).where(raffle_periods.c.status == "open")
    return list(conn.execute(query.order_by(raffle_periods.c.guild_id)).scalars())
