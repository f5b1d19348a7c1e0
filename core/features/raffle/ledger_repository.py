"""Raffle tables: the ticket ledger, balances and exclusions.

The ledger is append-only: a change of tickets is a new row, unique by
``(period_id, source, source_ref)``, and the balance moves in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.raffle import awards_repository
from core.features.raffle.awards_repository import TicketAward
from core.features.raffle.tables import (
    raffle_balances,
    raffle_exclusions,
    raffle_frozen_ranges,
    raffle_ledger,
)
from core.features.viewers.repository import with_usernames
from core.storage.db import insert_for


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
class Exclusion:
    platform: Platform
    platform_user_id: str
    username: str


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
    Many at once: :func:`core.features.raffle.awards_repository.award_many`.
    """
    return awards_repository.award(
        conn,
        TicketAward(
            guild_id,
            period_id,
            platform,
            platform_user_id,
            amount,
            source,
            source_ref,
            actor_id,
            reason,
            at,
        ),
    )


def list_ledger(conn: Connection, guild_id: int, period_id: int) -> list[LedgerEntry]:
    query = (
        sa.select(raffle_ledger)
        .where(raffle_ledger.c.guild_id == guild_id, raffle_ledger.c.period_id == period_id)
        .order_by(raffle_ledger.c.id)
    )
    return [_entry(row) for row in conn.execute(query)]


def source_refs_in_any_period(
    conn: Connection, guild_id: int, source: str, prefix: str
) -> set[str]:
    """The ``source_ref`` of every ledger row of the guild from ``source`` that starts with
    ``prefix``, in all its periods, open or closed."""
    query = sa.select(raffle_ledger.c.source_ref).where(
        raffle_ledger.c.guild_id == guild_id,
        raffle_ledger.c.source == source,
        raffle_ledger.c.source_ref.startswith(prefix, autoescape=True),
    )
    return set(conn.execute(query).scalars())


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
        .where(_of_viewer(raffle_ledger, guild_id, period_id, platform, platform_user_id))
        .order_by(raffle_ledger.c.id.desc())
        .limit(limit)
    )
    return [_entry(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class HandChange:
    """Tickets an admin gave (or took, negative) by hand, with the viewer's name."""

    username: str
    amount: int
    actor_id: int | None
    reason: str
    created_at: datetime


def list_hand_changes(
    conn: Connection, guild_id: int, period_id: int, limit: int
) -> list[HandChange]:
    """The period's latest admin entries, newest first."""
    ledger = raffle_ledger
    joined, username = with_usernames(ledger)
    query = (
        sa.select(
            username, ledger.c.amount, ledger.c.actor_id, ledger.c.reason, ledger.c.created_at
        )
        .select_from(joined)
        .where(
            ledger.c.guild_id == guild_id,
            ledger.c.period_id == period_id,
            ledger.c.source == "admin",
        )
        .order_by(ledger.c.id.desc())
        .limit(limit)
    )
    return [HandChange(*row) for row in conn.execute(query)]


def tickets_by_source(
    conn: Connection, guild_id: int, period_id: int, platform: Platform, platform_user_id: str
) -> dict[str, int]:
    return _totals_by_source(
        conn, _of_viewer(raffle_ledger, guild_id, period_id, platform, platform_user_id)
    )


def period_totals_by_source(conn: Connection, guild_id: int, period_id: int) -> dict[str, int]:
    return _totals_by_source(
        conn, raffle_ledger.c.guild_id == guild_id, raffle_ledger.c.period_id == period_id
    )


def _totals_by_source(conn: Connection, *conditions: sa.ColumnElement[bool]) -> dict[str, int]:
    query = (
        sa.select(raffle_ledger.c.source, sa.func.sum(raffle_ledger.c.amount))
        .where(*conditions)
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
    b = raffle_balances
    joined, username = with_usernames(b)
    return (
        sa.select(b.c.platform, b.c.platform_user_id, username, b.c.tickets)
        .select_from(joined)
        .where(b.c.guild_id == guild_id, b.c.period_id == period_id)
    )


def get_balance(
    conn: Connection, guild_id: int, period_id: int, platform: Platform, platform_user_id: str
) -> int:
    query = sa.select(raffle_balances.c.tickets).where(
        _of_viewer(raffle_balances, guild_id, period_id, platform, platform_user_id)
    )
    return int(conn.execute(query).scalar() or 0)


def get_balances(
    conn: Connection, guild_id: int, period_id: int, viewers: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(platform, user id) -> tickets in the period, for those of ``viewers`` holding any row."""
    found: dict[tuple[str, str], int] = {}
    keys = list(dict.fromkeys(viewers))
    b = raffle_balances.c
    for start in range(0, len(keys), 500):  # keeps the IN list within every backend's limits
        query = sa.select(b.platform, b.platform_user_id, b.tickets).where(
            b.period_id == period_id,
            b.guild_id == guild_id,
            sa.tuple_(b.platform, b.platform_user_id).in_(keys[start : start + 500]),
        )
        for row in conn.execute(query):
            found[(row.platform, row.platform_user_id)] = int(row.tickets)
    return found


def balances_between(
    conn: Connection, guild_id: int, period_id: int, low: int, high: int
) -> dict[tuple[str, str], int]:
    """(platform, user id) -> tickets in the period, for balances with ``low <= tickets < high``:
    one scan of the period through the key, however many viewers (a milestone check after an
    award of thousands needs no list of them)."""
    b = raffle_balances.c
    query = sa.select(b.platform, b.platform_user_id, b.tickets).where(
        b.period_id == period_id, b.guild_id == guild_id, b.tickets >= low, b.tickets < high
    )
    return {(row.platform, row.platform_user_id): int(row.tickets) for row in conn.execute(query)}


def list_top_balances(
    conn: Connection,
    guild_id: int,
    period_id: int,
    limit: int | None = None,
    *,
    frozen: bool = False,
) -> list[Balance]:
    """The participants' balances (:func:`participants`, ``frozen`` as there), most tickets
    first."""
    query = (
        _balances_with_names(guild_id, period_id)
        .where(*participants(guild_id, period_id, frozen=frozen))
        .order_by(raffle_balances.c.tickets.desc(), raffle_balances.c.platform_user_id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        Balance(Platform(row.platform), row.platform_user_id, row.username, int(row.tickets))
        for row in conn.execute(query)
    ]


def count_balances_ahead(
    conn: Connection, guild_id: int, period_id: int, tickets: int, *, frozen: bool = False
) -> int:
    """The participants (:func:`participants`) holding more than ``tickets``."""
    query = sa.select(sa.func.count()).where(
        *participants(guild_id, period_id, frozen=frozen), raffle_balances.c.tickets > tickets
    )
    return int(conn.execute(query).scalar_one())


def count_participants(
    conn: Connection, guild_id: int, period_id: int, *, frozen: bool = False
) -> int:
    """The period's participants (:func:`participants`)."""
    query = sa.select(sa.func.count()).where(*participants(guild_id, period_id, frozen=frozen))
    return int(conn.execute(query).scalar_one())


def sum_tickets(conn: Connection, guild_id: int, period_id: int, *, frozen: bool = False) -> int:
    """The tickets of the period's participants (:func:`participants`)."""
    total = sa.func.coalesce(sa.func.sum(raffle_balances.c.tickets), 0)
    query = sa.select(total).where(*participants(guild_id, period_id, frozen=frozen))
    return int(conn.execute(query).scalar_one())


def participants(
    guild_id: int, period_id: int, *, frozen: bool = False
) -> tuple[sa.ColumnElement[bool], ...]:
    """The balances of viewers not excluded who hold tickets in the period; with ``frozen`` (a
    closed period's), of those its close froze as the ones who may win (its ticket ranges):
    the draw's participants, whatever was excluded or included since."""
    b = raffle_balances.c
    holders = (b.guild_id == guild_id, b.period_id == period_id, b.tickets > 0)
    if frozen:
        table, scope = raffle_frozen_ranges, raffle_frozen_ranges.c.period_id == b.period_id
    else:
        table, scope = raffle_exclusions, raffle_exclusions.c.guild_id == guild_id
    listed = sa.exists().where(
        scope,
        table.c.platform == b.platform,
        table.c.platform_user_id == b.platform_user_id,
    )
    return (*holders, listed if frozen else ~listed)


def _of_viewer(
    table: sa.Table, guild_id: int, period_id: int, platform: Platform, platform_user_id: str
) -> sa.ColumnElement[bool]:
    """One viewer's rows (in the ledger or the balances) in one period."""
    return sa.and_(
        table.c.guild_id == guild_id,
        table.c.period_id == period_id,
        table.c.platform == str(platform),
        table.c.platform_user_id == platform_user_id,
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
