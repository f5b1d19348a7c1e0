"""Finding a viewer by name within one guild. Names are every guild's (``viewers``): a name
typed by a moderator of one server must find only viewers seen in that server, or it tells
them the name exists elsewhere, acts on another server's account, or reports "more than one
account" because of another server's old name.

What "seen" means is each feature's: it passes the tables (each with ``guild_id``,
``platform`` and ``platform_user_id``) where a viewer of its own shows up, on top of
``CHATTED`` (chat presence and watchtime), which every feature shares."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.viewers.repository import find_viewer_ids_by_username
from core.features.watchtime.tables import watch_presence, watchtime

# A viewer who chatted (presence) or watched (watchtime) in the guild.
CHATTED: tuple[sa.Table, ...] = (watch_presence, watchtime)


def ids_seen_in(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    username: str,
    seen_in: Sequence[sa.Table] = CHATTED,
) -> list[str]:
    """The viewers currently called ``username`` on ``platform`` who have a row of this guild
    in one of ``seen_in``; one indexed probe per table and viewer of that name."""
    ids = find_viewer_ids_by_username(conn, platform, username)
    return [user_id for user_id in ids if seen_here(conn, guild_id, platform, user_id, seen_in)]


def seen_here(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    user_id: str,
    seen_in: Sequence[sa.Table] = CHATTED,
) -> bool:
    for table in seen_in:
        c = table.c
        found = conn.execute(
            sa.select(sa.literal(1))
            .where(
                c.guild_id == guild_id,
                c.platform == str(platform),
                c.platform_user_id == user_id,
            )
            .limit(1)
        ).first()
        if found is not None:
            return True
    return False


def event_viewer_id(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    username: str,
    seen_in: Sequence[sa.Table] = CHATTED,
) -> str | None:
    """The account an event of this guild's channel means when it names a viewer without
    their id (Kick's Pusher does): the one viewer of that name seen in this guild, else the
    one known by it anywhere (the platform just gave the name: a gifter or subscriber need
    not have chatted here first); None when that is not one account. Another server's old
    holder of the name no longer stands beside this guild's viewer."""
    here = ids_seen_in(conn, guild_id, platform, username, seen_in)
    if not here:
        here = find_viewer_ids_by_username(conn, platform, username)
    return here[0] if len(here) == 1 else None
