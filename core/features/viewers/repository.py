"""Platform identities shared by every guild: ``(platform, platform_user_id)`` -> username."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform, Viewer, visible_name
from core.features.viewers.tables import viewers

# SQL text, so SQLAlchemy compiles it once (the dialects' ``insert().on_conflict_do_update()``
# has no cache key and was compiled again for every chat message); the same SQL on SQLite and
# PostgreSQL, values bound through the columns' types.
_COLUMNS = ("platform", "platform_user_id", "username", "updated_at")
_REMEMBER = sa.text("""
INSERT INTO viewers (platform, platform_user_id, username, updated_at)
VALUES (:platform, :platform_user_id, :username, :updated_at)
ON CONFLICT (platform, platform_user_id)
DO UPDATE SET username = excluded.username, updated_at = excluded.updated_at
WHERE viewers.updated_at <= excluded.updated_at
""").bindparams(*(sa.bindparam(name, type_=viewers.c[name].type) for name in _COLUMNS))


def remember_viewers(
    conn: Connection, platform: Platform, seen: Iterable[Viewer], seen_at: datetime
) -> None:
    """Store each viewer's username, unless a newer sighting already set it."""
    remember_sightings(conn, ((platform, viewer, seen_at) for viewer in seen))


def remember_sightings(
    conn: Connection, sightings: Iterable[tuple[Platform, Viewer, datetime]]
) -> None:
    """Store each sighting's username, unless a newer one (stored, or in ``sightings``) set it."""
    rows = [
        {
            "platform": str(platform),
            "platform_user_id": viewer.platform_user_id,
            "username": viewer.username[:100],
            "updated_at": seen_at,
        }
        for platform, viewer, seen_at in sightings
        if viewer.username and viewer.platform_user_id
    ]
    if rows:
        conn.execute(_REMEMBER, rows)


def find_viewer_ids_by_username(conn: Connection, platform: Platform, username: str) -> list[str]:
    """Ids of the viewers currently known by ``username`` (case-insensitive; zero-width
    characters typed or pasted with it are not part of a stored name)."""
    query = sa.select(viewers.c.platform_user_id).where(
        viewers.c.platform == str(platform),
        sa.func.lower(viewers.c.username) == visible_name(username).strip().lstrip("@").lower(),
    )
    return list(conn.execute(query).scalars())


def with_usernames(table: sa.Table) -> tuple[sa.Table, sa.Label[str]]:
    """``table`` (with ``platform`` and ``platform_user_id`` columns) and a ``username``
    column for it: the viewer's name, or their platform user id while no name is known.

    The name is a subquery per row, not a join: under ``ORDER BY ... LIMIT`` PostgreSQL looks
    names up for the rows shown only, where a join named all of a guild's 10,000 viewers before
    keeping the top 25 (most of a leaderboard page's time, issue 27)."""
    name = (
        sa.select(viewers.c.username)
        .where(
            viewers.c.platform == table.c.platform,
            viewers.c.platform_user_id == table.c.platform_user_id,
        )
        .scalar_subquery()
    )
    return table, sa.func.coalesce(name, table.c.platform_user_id).label("username")


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
