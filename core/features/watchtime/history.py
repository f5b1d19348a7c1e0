"""Each guild's watchtime hour by hour (``watch_hours``), for the dashboard's charts: written by
the tick in its own transaction (so a tick counted once is charted once), read as days and
hours, forgotten after ``HOURS_KEPT``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import utc
from core.features.watchtime.tables import watch_hours
from core.storage.db import insert_for

HOURS_KEPT = timedelta(days=92)


@dataclass(frozen=True)
class Hour:
    hour: datetime
    peak_viewers: int
    viewer_seconds: int


def hour_of(moment: datetime) -> datetime:
    return utc(moment).replace(minute=0, second=0, microsecond=0)


def record(conn: Connection, credited: Mapping[int, int], seconds: int, now: datetime) -> None:
    """Add a tick's crowd (guild -> viewers credited ``seconds`` each) to its hour."""
    rows = [
        {
            "guild_id": guild_id,
            "hour": hour_of(now),
            "peak_viewers": viewers,
            "viewer_seconds": viewers * seconds,
        }
        for guild_id, viewers in credited.items()
        if viewers > 0 and seconds > 0
    ]
    if not rows:
        return
    h = watch_hours.c
    stmt = insert_for(conn, watch_hours)
    stmt = stmt.on_conflict_do_update(
        index_elements=[h.guild_id, h.hour],
        set_={
            "peak_viewers": sa.case(
                (stmt.excluded.peak_viewers > h.peak_viewers, stmt.excluded.peak_viewers),
                else_=h.peak_viewers,
            ),
            "viewer_seconds": h.viewer_seconds + stmt.excluded.viewer_seconds,
        },
    )
    conn.execute(stmt, rows)


def hours(conn: Connection, guild_id: int, since: datetime) -> list[Hour]:
    h = watch_hours.c
    query = (
        sa.select(h.hour, h.peak_viewers, h.viewer_seconds)
        .where(h.guild_id == guild_id, h.hour >= hour_of(since))
        .order_by(h.hour)
    )
    return [
        Hour(utc(row.hour), row.peak_viewers, row.viewer_seconds) for row in conn.execute(query)
    ]


def forget_before(conn: Connection, before: datetime) -> int:
    deleted = conn.execute(sa.delete(watch_hours).where(watch_hours.c.hour < hour_of(before)))
    return deleted.rowcount or 0
