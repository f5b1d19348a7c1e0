"""The heist's SQL for what is read after the fact: a guild's totals (``!heist stats``), the
export, and finished heists by day for the dashboard's charts. Only resolved and cancelled heists
count; the running game's SQL is ``repository.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.heist.repository import CANCELLED, RESOLVED
from core.features.heist.tables import heist_participants, heists


@dataclass(frozen=True)
class HeistStats:
    heists: int
    participants: int
    staked: int
    paid: int
    biggest_win: int


def stats_of(conn: Connection, guild_id: int) -> HeistStats:
    h, p = heists.c, heist_participants.c
    row = conn.execute(
        sa.select(
            sa.func.count(sa.distinct(h.id)),
            sa.func.count(p.id),
            sa.func.coalesce(sa.func.sum(p.stake), 0),
            sa.func.coalesce(sa.func.sum(p.payout), 0),
            sa.func.coalesce(sa.func.max(p.payout), 0),
        )
        .select_from(heists.join(heist_participants, p.heist_id == h.id))
        .where(h.guild_id == guild_id, h.state == RESOLVED)
    ).one()
    return HeistStats(*(int(value) for value in row))


def export_rows(conn: Connection, guild_id: int) -> list[sa.Row]:
    """Every participant of the guild's open and resolved heists, oldest heist first."""
    h, p = heists.c, heist_participants.c
    return list(
        conn.execute(
            sa.select(
                p.heist_id,
                p.platform,
                p.platform_user_id,
                p.stake,
                p.risk,
                p.tier,
                p.tier_multiplier_x100,
                p.won,
                p.payout,
                h.resolved_at,
                h.state,
            )
            .select_from(heists.join(heist_participants, p.heist_id == h.id))
            .where(h.guild_id == guild_id, h.state != CANCELLED)
            .order_by(h.id, p.id)
        )
    )


@dataclass(frozen=True)
class FinishedHeist:
    """One finished heist, for the charts: when, how, and the points it moved."""

    finished_at: datetime
    state: str  # resolved or cancelled
    crew: int
    winners: int
    staked: int
    paid: int

    @property
    def outcome(self) -> str:
        """One of :data:`OUTCOMES`, in the words the results use."""
        if self.state == CANCELLED:
            return "cancelled"
        if self.winners == 0:
            return "all caught"
        return "everyone got away" if self.winners == self.crew else "some got away"


OUTCOMES = ("everyone got away", "some got away", "all caught", "cancelled")


def finished_since(conn: Connection, guild_id: int, since: datetime) -> list[FinishedHeist]:
    """The guild's heists resolved or cancelled from ``since`` on, oldest first, with their
    crew's count, winners, stakes and payouts."""
    h, p = heists.c, heist_participants.c
    query = (
        sa.select(
            h.resolved_at,
            h.state,
            sa.func.count(p.id),
            sa.func.coalesce(sa.func.sum(sa.case((p.won.is_(True), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(p.stake), 0),
            sa.func.coalesce(sa.func.sum(p.payout), 0),
        )
        .select_from(heists.outerjoin(heist_participants, p.heist_id == h.id))
        .where(
            h.guild_id == guild_id,
            h.state.in_((RESOLVED, CANCELLED)),
            h.resolved_at >= since,
        )
        .group_by(h.id, h.resolved_at, h.state)
        .order_by(h.resolved_at, h.id)
    )
    return [
        FinishedHeist(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5]))
        for row in conn.execute(query)
    ]
