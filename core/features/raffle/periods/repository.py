"""Raffle tables: each guild's raffle settings and its periods (with their announcement flags).

A guild has at most one current period (scheduled or open); a unique index on the guild's
current period keeps it so when two processes race.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.live.changes import touch
from core.features.raffle.tables import raffle_periods, raffle_settings
from core.storage.db import insert_for

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
    beacon_chain_hash: str | None = None
    beacon_scheme: str | None = None
    beacon_public_key: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    snapshot_hash: str | None = None
    snapshot_version: int = 1  # how the frozen ledger names admins (fairness.SNAPSHOT_VERSIONS)
    actor_key: str | None = field(default=None, repr=False)  # version 2: the pseudonyms' key
    eligible: tuple[str, ...] | None = None
    draw_due: bool = False  # closed, with its automatic draw still to request

    @property
    def is_open(self) -> bool:
        return self.status == "open"


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
    period_id = conn.execute(stmt).scalar()
    if period_id is not None and status == "open":
        touch(conn, guild_id, "raffle")  # open boards (dashboard, overlay) show the new period
    return period_id


def find_open_period(conn: Connection, guild_id: int) -> Period | None:
    """The guild's open period (at most one), or None."""
    return _find_period(conn, guild_id, raffle_periods.c.status == "open")


def find_open_or_scheduled_period(conn: Connection, guild_id: int) -> Period | None:
    """The guild's open or scheduled period, or None."""
    return _find_period(conn, guild_id, raffle_periods.c.status.in_(CURRENT_STATUSES))


def find_period(
    conn: Connection, guild_id: int, period_id: int, *, with_eligible: bool = True
) -> Period | None:
    """The period; ``with_eligible=False`` leaves its frozen list of participants unread
    (``eligible`` None: a big guild's is megabytes of JSON, and a draw seeks instead)."""
    if with_eligible:
        return _find_period(conn, guild_id, raffle_periods.c.id == period_id)
    query = sa.select(*_columns(with_eligible)).where(
        raffle_periods.c.guild_id == guild_id, raffle_periods.c.id == period_id
    )
    row = conn.execute(query).first()
    return None if row is None else _period(row)


def find_last_closed_period(conn: Connection, guild_id: int) -> Period | None:
    query = (
        sa.select(raffle_periods)
        .where(raffle_periods.c.guild_id == guild_id, raffle_periods.c.status == "closed")
        .order_by(raffle_periods.c.ends_at.desc(), raffle_periods.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _period(row)


def list_recent_periods(
    conn: Connection, guild_id: int, limit: int = 12, *, with_eligible: bool = True
) -> list[Period]:
    """The guild's periods, newest first: scheduled, open and closed (not cancelled ones);
    ``with_eligible`` as in :func:`find_period`."""
    query = (
        sa.select(*_columns(with_eligible))
        .where(raffle_periods.c.guild_id == guild_id, raffle_periods.c.status != "cancelled")
        .order_by(raffle_periods.c.starts_at.desc(), raffle_periods.c.id.desc())
        .limit(limit)
    )
    return [_period(row) for row in conn.execute(query)]


def get_period(conn: Connection, period_id: int) -> Period:
    """A period known to exist."""
    return _period(
        conn.execute(sa.select(raffle_periods).where(raffle_periods.c.id == period_id)).one()
    )


def find_period_by_id(
    conn: Connection, period_id: int, *, with_eligible: bool = True
) -> Period | None:
    """A period of any guild (the operator's export command, the public proof page);
    ``with_eligible`` as in :func:`find_period`."""
    query = sa.select(*_columns(with_eligible)).where(raffle_periods.c.id == period_id)
    row = conn.execute(query).first()
    return None if row is None else _period(row)


def _columns(with_eligible: bool) -> list[sa.ColumnElement[object]]:
    if with_eligible:
        return list(raffle_periods.c)
    return [*(c for c in raffle_periods.c if c.name != "eligible"), sa.null().label("eligible")]


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
    return _touched_if_changed(conn, result.rowcount, period_id)


def set_period_dates(
    conn: Connection, period_id: int, starts_at: datetime, ends_at: datetime
) -> None:
    conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id)
        .values(starts_at=starts_at, ends_at=ends_at, beacon_round=None)
    )


def set_beacon_round(
    conn: Connection,
    period_id: int,
    beacon_round: int,
    genesis_time: int,
    period_seconds: int,
    *,
    chain_hash: str | None = None,
    scheme: str | None = None,
    public_key: str | None = None,
) -> None:
    conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id)
        .values(
            beacon_round=beacon_round,
            beacon_genesis_time=genesis_time,
            beacon_period_seconds=period_seconds,
            beacon_chain_hash=chain_hash,
            beacon_scheme=scheme,
            beacon_public_key=public_key,
        )
    )


def lock_period_for_close(conn: Connection, period_id: int) -> bool:
    """Mark the open period as closing by taking its row lock (PostgreSQL) and checking it is
    still open. Ledger writers hold a key-share lock on the same row, so none is half-way."""
    query = (
        sa.select(raffle_periods.c.status).where(raffle_periods.c.id == period_id).with_for_update()
    )
    return conn.execute(query).scalar() == "open"


def hold_open_period(conn: Connection, guild_id: int, period_id: int) -> bool:
    """True while the period is an open period of the guild. On PostgreSQL the row's key-share
    lock (the one the ledger's foreign key takes anyway) is held to the end of the caller's
    transaction, so a close waits for it and no write slips in after the freeze."""
    query = (
        sa.select(raffle_periods.c.status)
        .where(raffle_periods.c.id == period_id, raffle_periods.c.guild_id == guild_id)
        .with_for_update(read=True, key_share=True)
    )
    return conn.execute(query).scalar() == "open"


def close_period(
    conn: Connection,
    period_id: int,
    *,
    now: datetime,
    ends_at: datetime,
    snapshot_hash: str,
    snapshot_version: int,
    eligible: list[str],
    draw_due: bool = False,
    actor_key: str | None = None,
) -> bool:
    """``actor_key``: a version 2 period's pseudonym key (hex), kept for its exports."""
    result = conn.execute(
        sa.update(raffle_periods)
        .where(raffle_periods.c.id == period_id, raffle_periods.c.status == "open")
        .values(
            status="closed",
            closed_at=now,
            ends_at=ends_at,
            snapshot_hash=snapshot_hash,
            snapshot_version=snapshot_version,
            actor_key=actor_key,
            eligible=json.dumps(eligible),
            draw_due=draw_due,
        )
    )
    return _touched_if_changed(conn, result.rowcount, period_id)


def _touched_if_changed(conn: Connection, rowcount: int, period_id: int) -> bool:
    """Whether a period opened or closed; if so, its guild's open boards (the dashboard's
    standings, the raffle overlay) hear of it in the same transaction."""
    if rowcount != 1:
        return False
    query = sa.select(raffle_periods.c.guild_id).where(raffle_periods.c.id == period_id)
    touch(conn, int(conn.execute(query).scalar_one()), "raffle")
    return True


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
        beacon_chain_hash=row.beacon_chain_hash,
        beacon_scheme=row.beacon_scheme,
        beacon_public_key=row.beacon_public_key,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        snapshot_hash=row.snapshot_hash,
        snapshot_version=row.snapshot_version,
        actor_key=row.actor_key,
        eligible=None if row.eligible is None else tuple(json.loads(row.eligible)),
        draw_due=bool(row.draw_due),
    )


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
