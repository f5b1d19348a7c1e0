"""Importers' own rows: runs, markers of imported source rows, imported winners."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.importers.forgotten import forgotten_source
from core.features.importers.tables import import_markers, import_runs, imported_winners
from core.storage.db import insert_if_absent


@dataclass(frozen=True)
class Run:
    status: str
    started_at: datetime
    finished_at: datetime | None


def find_run(conn: Connection, guild_id: int, source: str) -> Run | None:
    query = sa.select(import_runs).where(
        import_runs.c.guild_id == guild_id, import_runs.c.source == source
    )
    row = conn.execute(query).first()
    return None if row is None else Run(row.status, row.started_at, row.finished_at)


def claim_run(conn: Connection, guild_id: int, source: str, now: datetime, *, force: bool) -> bool:
    """Mark the guild's import from ``source`` as running; False (nothing changed) when one is
    marked running already, unless ``force``. A compare-and-set: of two imports started at
    once, one claims it."""
    if insert_if_absent(
        conn,
        import_runs,
        {"guild_id": guild_id, "source": source, "status": "running", "started_at": now},
    ):
        return True
    stmt = (
        sa.update(import_runs)
        .where(import_runs.c.guild_id == guild_id, import_runs.c.source == source)
        .values(status="running", started_at=now, finished_at=None)
    )
    if not force:
        stmt = stmt.where(import_runs.c.status != "running")
    return conn.execute(stmt).rowcount == 1


def finish_run(conn: Connection, guild_id: int, source: str, now: datetime) -> None:
    conn.execute(
        sa.update(import_runs)
        .where(import_runs.c.guild_id == guild_id, import_runs.c.source == source)
        .values(status="done", finished_at=now)
    )


def release_run(conn: Connection, guild_id: int, source: str, now: datetime) -> None:
    """Mark a run whose changes were rolled back as over ("failed"), so the next one needs no
    --force."""
    conn.execute(
        sa.update(import_runs)
        .where(import_runs.c.guild_id == guild_id, import_runs.c.source == source)
        .values(status="failed", finished_at=now)
    )


def imported_refs(conn: Connection, guild_id: int, source: str) -> set[str]:
    """The source references already imported into the guild."""
    query = sa.select(import_markers.c.source_ref).where(
        import_markers.c.guild_id == guild_id, import_markers.c.source == source
    )
    return set(conn.execute(query).scalars())


def forgotten_refs(conn: Connection, guild_id: int, source: str) -> set[str]:
    """The source references of people forgotten since they were imported into the guild
    (importers/forgotten.py): an import skips them."""
    return imported_refs(conn, guild_id, forgotten_source(source))


def mark_imported(
    conn: Connection, guild_id: int, source: str, refs: Collection[str], now: datetime
) -> None:
    if refs:
        conn.execute(
            sa.insert(import_markers),
            [
                {
                    "guild_id": guild_id,
                    "source": source,
                    "source_ref": ref[:255],
                    "imported_at": now,
                }
                for ref in refs
            ],
        )


@dataclass(frozen=True)
class ImportedWinner:
    source_ref: str
    username: str
    discord_user_id: int | None
    platform_user_id: str | None  # a Kick user id; None when the name was not resolved
    tickets: int | None
    prize: str
    period_starts_at: datetime | None
    period_ends_at: datetime | None
    drawn_at: datetime | None


def add_winner(conn: Connection, guild_id: int, source: str, winner: ImportedWinner) -> bool:
    return insert_if_absent(
        conn,
        imported_winners,
        {
            "guild_id": guild_id,
            "source": source,
            "source_ref": winner.source_ref[:255],
            "period_starts_at": winner.period_starts_at,
            "period_ends_at": winner.period_ends_at,
            "discord_user_id": winner.discord_user_id,
            "platform": str(Platform.KICK) if winner.platform_user_id else None,
            "platform_user_id": winner.platform_user_id,
            "username": winner.username[:100],
            "tickets": winner.tickets,
            "prize": winner.prize[:200],
            "drawn_at": winner.drawn_at,
        },
    )


def list_winners(conn: Connection, guild_id: int) -> list[ImportedWinner]:
    """The guild's imported winners, the latest draw first."""
    query = (
        sa.select(imported_winners)
        .where(imported_winners.c.guild_id == guild_id)
        .order_by(imported_winners.c.drawn_at.desc(), imported_winners.c.source_ref)
    )
    return [
        ImportedWinner(
            row.source_ref,
            row.username,
            row.discord_user_id,
            row.platform_user_id,
            row.tickets,
            row.prize,
            row.period_starts_at,
            row.period_ends_at,
            row.drawn_at,
        )
        for row in conn.execute(query)
    ]
