"""What a raffle job left half done, found from the database alone: a closed period whose
automatic draw was never requested, and a running raffle with no current period. The scheduler
resumes both (``service.run_scheduled``), so a process killed at any step of a close never
stops the raffle."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.raffle.periods.repository import CURRENT_STATUSES, Period, _period
from core.features.raffle.tables import raffle_periods, raffle_settings


def list_periods_with_draw_due(conn: Connection) -> list[Period]:
    """Closed periods whose automatic draw is still to be requested, oldest first."""
    p = raffle_periods.c
    query = sa.select(raffle_periods).where(p.status == "closed", p.draw_due.is_(True))
    return [_period(row) for row in conn.execute(query.order_by(p.ends_at, p.id))]


def clear_draw_due(conn: Connection, period_id: int) -> None:
    conn.execute(
        sa.update(raffle_periods).where(raffle_periods.c.id == period_id).values(draw_due=False)
    )


def list_running_without_current(conn: Connection) -> list[tuple[int, Period]]:
    """``(guild_id, last closed period)`` of each guild whose raffle runs but has no open or
    scheduled period: its next one was never created."""
    p, s = raffle_periods.c, raffle_settings.c
    current = sa.exists().where(p.guild_id == s.guild_id, p.status.in_(CURRENT_STATUSES))
    guild_ids = conn.execute(sa.select(s.guild_id).where(s.running.is_(True), ~current)).scalars()
    found = []
    for guild_id in guild_ids:
        row = conn.execute(
            sa.select(raffle_periods)
            .where(p.guild_id == guild_id, p.status == "closed")
            .order_by(p.ends_at.desc(), p.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            found.append((guild_id, _period(row)))
    return found
