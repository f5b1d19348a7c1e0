"""Watchtime earned elsewhere (another bot's totals, brought in by an import)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.watchtime.tables import watchtime
from core.storage.db import insert_for


def add_seconds(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    platform_user_id: str,
    seconds: int,
    last_seen: datetime | None,
) -> None:
    """Add ``seconds`` to the viewer's total in the guild (a new row if none); ``last_seen``
    only moves forward. The caller makes sure the same seconds are not added twice."""
    if seconds < 0:
        raise ValueError("watchtime to add is not negative")
    stmt = insert_for(conn, watchtime).values(
        guild_id=guild_id,
        platform=str(platform),
        platform_user_id=platform_user_id,
        seconds=seconds,
        last_seen=last_seen,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                watchtime.c.guild_id,
                watchtime.c.platform,
                watchtime.c.platform_user_id,
            ],
            set_={
                "seconds": watchtime.c.seconds + stmt.excluded.seconds,
                "last_seen": sa.case(
                    (watchtime.c.last_seen.is_(None), stmt.excluded.last_seen),
                    (stmt.excluded.last_seen.is_(None), watchtime.c.last_seen),
                    (stmt.excluded.last_seen > watchtime.c.last_seen, stmt.excluded.last_seen),
                    else_=watchtime.c.last_seen,
                ),
            },
        )
    )
