"""Platform identities shared by every guild: ``(platform, platform_user_id)`` -> username."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, Viewer
from core.features.viewers.tables import viewers
from core.storage.db import insert_for


def remember_viewers(
    conn: Connection, platform: Platform, seen: Iterable[Viewer], seen_at: datetime
) -> None:
    """Store each viewer's username, unless a newer sighting already set it."""
    rows = [
        {
            "platform": str(platform),
            "platform_user_id": viewer.platform_user_id,
            "username": viewer.username[:100],
            "updated_at": seen_at,
        }
        for viewer in seen
        if viewer.username and viewer.platform_user_id
    ]
    if not rows:
        return
    stmt = insert_for(conn, viewers)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[viewers.c.platform, viewers.c.platform_user_id],
            set_={"username": stmt.excluded.username, "updated_at": stmt.excluded.updated_at},
            where=viewers.c.updated_at <= stmt.excluded.updated_at,
        ),
        rows,
    )


def find_viewer_ids_by_username(conn: Connection, platform: Platform, username: str) -> list[str]:
    """Ids of the viewers currently known by ``username`` (case-insensitive)."""
    query = sa.select(viewers.c.platform_user_id).where(
        viewers.c.platform == str(platform),
        sa.func.lower(viewers.c.username) == username.strip().lstrip("@").lower(),
    )
    return list(conn.execute(query).scalars())


def with_usernames(table: sa.Table) -> tuple[sa.Join, sa.Label[str]]:
    """``table`` (with ``platform`` and ``platform_user_id`` columns) joined to the viewers it
    names, and a ``username`` column: the viewer's name, or their platform user id while no
    name is known."""
    joined = table.outerjoin(
        viewers,
        sa.and_(
            viewers.c.platform == table.c.platform,
            viewers.c.platform_user_id == table.c.platform_user_id,
        ),
    )
    username = sa.func.coalesce(viewers.c.username, table.c.platform_user_id).label("username")
    return joined, username


def usernames_of(conn: Connection, platform_ids: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``"platform:user_id"`` -> current username, for those of ``platform_ids`` known."""
    found: dict[str, str] = {}
    ids = list(dict.fromkeys(platform_ids))
    for start in range(0, len(ids), 500):  # keeps the IN list within every backend's limits
        query = sa.select(viewers.c.platform, viewers.c.platform_user_id, viewers.c.username).where(
            sa.tuple_(viewers.c.platform, viewers.c.platform_user_id).in_(ids[start : start + 500])
        )
        for row in conn.execute(query):
            found[f"{row.platform}:{row.platform_user_id}"] = row.username
    return found
