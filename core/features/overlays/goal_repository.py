"""The goal bar's SQL: the goal, and what moved it (once each). Every statement names its guild."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import utc
from core.features.overlays.tables import overlay_goal_moves, overlay_goals
from core.storage.db import insert_for, insert_if_absent


@dataclass(frozen=True)
class StoredGoal:
    measure: str
    target: int
    progress: int
    title: str
    started_at: datetime


def get_goal(conn: Connection, guild_id: int) -> StoredGoal | None:
    g = overlay_goals.c
    row = conn.execute(sa.select(overlay_goals).where(g.guild_id == guild_id)).first()
    if row is None:
        return None
    return StoredGoal(row.measure, int(row.target), int(row.progress), row.title, row.started_at)


def save_goal(
    conn: Connection,
    guild_id: int,
    measure: str,
    target: int,
    title: str,
    at: datetime,
    *,
    reset: bool,
) -> None:
    """Set the goal; with ``reset`` (or a new measure) it counts from zero, from ``at``."""
    stored = get_goal(conn, guild_id)
    values: dict[str, object] = {"measure": measure, "target": target, "title": title}
    values["updated_at"] = at
    if reset or stored is None or stored.measure != measure:
        values["progress"] = 0
        values["started_at"] = at
    stmt = insert_for(conn, overlay_goals).values(
        {"guild_id": guild_id, "progress": 0, "started_at": at, **values}
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=[overlay_goals.c.guild_id], set_=values))


def delete_goal(conn: Connection, guild_id: int) -> None:
    conn.execute(sa.delete(overlay_goals).where(overlay_goals.c.guild_id == guild_id))


def moved_at(conn: Connection, guild_id: int, source_ref: str) -> datetime | None:
    """When ``source_ref`` moved the guild's goal, or None (not within :data:`MOVES_KEPT`)."""
    m = overlay_goal_moves.c
    found = conn.execute(
        sa.select(m.created_at).where(m.guild_id == guild_id, m.source_ref == source_ref[:255])
    ).first()
    return None if found is None else utc(found.created_at)


def move(conn: Connection, guild_id: int, source_ref: str, amount: int, at: datetime) -> bool:
    """Add ``amount`` to the goal's progress once for ``source_ref``; False when it moved it
    already (also when another process did since the look here) or there is no goal."""
    if moved_at(conn, guild_id, source_ref) is not None:
        return False
    move = {
        "guild_id": guild_id,
        "source_ref": source_ref[:255],
        "amount": amount,
        "created_at": at,
    }
    if not insert_if_absent(conn, overlay_goal_moves, move):
        return False
    g = overlay_goals.c
    done = conn.execute(
        sa.update(overlay_goals)
        .where(g.guild_id == guild_id)
        .values(progress=g.progress + amount, updated_at=at)
    )
    return bool(done.rowcount)


def forget_moves_before(conn: Connection, before: datetime) -> int:
    """Forget what moved any guild's goal before ``before``: nothing is delivered again that
    late, so the keys no longer guard against counting twice. Returns how many went."""
    done = conn.execute(
        sa.delete(overlay_goal_moves).where(overlay_goal_moves.c.created_at < before)
    )
    return int(done.rowcount or 0)
