"""When events of each kind last arrived for a broadcaster (``event_arrivals``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.connections.tables import event_arrivals
from core.storage.db import insert_for

# (platform, broadcaster user id, event kind)
ArrivalKey = tuple[str, str, str]


def save_event_arrivals(conn: Connection, arrivals: Mapping[ArrivalKey, datetime]) -> None:
    """Note each arrival (a row never moves back in time)."""
    a = event_arrivals.c
    for (platform, broadcaster_user_id, kind), arrived_at in arrivals.items():
        stmt = insert_for(conn, event_arrivals).values(
            platform=platform,
            broadcaster_user_id=broadcaster_user_id,
            kind=kind,
            arrived_at=arrived_at,
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[a.platform, a.broadcaster_user_id, a.kind],
                set_={"arrived_at": stmt.excluded.arrived_at},
                where=a.arrived_at < stmt.excluded.arrived_at,
            )
        )


def list_event_arrivals(
    conn: Connection, platform: Platform, broadcaster_user_id: str
) -> dict[str, datetime]:
    """The broadcaster's last arrival of each kind (through the primary key)."""
    a = event_arrivals.c
    query = sa.select(a.kind, a.arrived_at).where(
        a.platform == str(platform), a.broadcaster_user_id == broadcaster_user_id
    )
    return {row.kind: row.arrived_at for row in conn.execute(query)}
