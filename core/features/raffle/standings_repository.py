"""A viewer's standing in the open period of every guild where they hold tickets (their /me
page): tickets and rank, by the rule of :func:`ledger_repository.participants`, in one
statement however many guilds there are."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.raffle.tables import raffle_balances, raffle_exclusions, raffle_periods


@dataclass(frozen=True)
class OpenStanding:
    guild_id: int
    platform: Platform
    platform_user_id: str
    tickets: int
    rank: int | None  # None while they hold none or are excluded


def _excluded(balance: sa.Table) -> sa.Exists:
    x = raffle_exclusions.c
    return sa.exists().where(
        x.guild_id == balance.c.guild_id,
        x.platform == balance.c.platform,
        x.platform_user_id == balance.c.platform_user_id,
    )


def list_open_standings_of(
    conn: Connection, accounts: Sequence[tuple[str, str]]
) -> list[OpenStanding]:
    """These viewers' ``(platform, platform_user_id)`` balances in open periods, each with
    their rank among the period's participants."""
    if not accounts:
        return []
    mine, other, p = raffle_balances.alias("mine"), raffle_balances.alias("other"), raffle_periods
    ahead = (
        sa.select(sa.func.count())
        .where(
            other.c.period_id == mine.c.period_id,
            other.c.guild_id == mine.c.guild_id,
            other.c.tickets > 0,
            other.c.tickets > mine.c.tickets,
            ~_excluded(other),
        )
        .scalar_subquery()
    )
    query = (
        sa.select(
            mine.c.guild_id,
            mine.c.platform,
            mine.c.platform_user_id,
            mine.c.tickets,
            _excluded(mine).label("excluded"),
            ahead.label("ahead"),
        )
        .join(p, p.c.id == mine.c.period_id)
        .where(
            p.c.status == "open",
            sa.tuple_(mine.c.platform, mine.c.platform_user_id).in_(list(accounts)),
        )
    )
    found = []
    for row in conn.execute(query):
        tickets = int(row.tickets)
        rank = int(row.ahead) + 1 if tickets > 0 and not row.excluded else None
        found.append(OpenStanding(row.guild_id, Platform(row.platform), row.platform_user_id,
                                  tickets, rank))  # fmt: skip
    return found


def list_guilds_with_open_period(conn: Connection, guild_ids: Collection[int]) -> set[int]:
    """Which of ``guild_ids`` have an open period (where a viewer without a balance stands at
    0 tickets)."""
    if not guild_ids:
        return set()
    p = raffle_periods.c
    query = sa.select(p.guild_id).where(p.guild_id.in_(list(guild_ids)), p.status == "open")
    return set(conn.execute(query).scalars())
