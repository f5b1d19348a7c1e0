"""The slot call blacklist's table: who may not call slots in a guild (:mod:`.blacklist`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.slot_calls.tables import slot_call_blacklist
from core.storage.db import insert_for


@dataclass(frozen=True)
class BlacklistEntry:
    platform: Platform
    platform_user_id: str | None
    username: str
    reason: str | None
    added_by: int
    added_at: datetime


def add_to_blacklist(
    conn: Connection, guild_id: int, entry: BlacklistEntry, username_key: str
) -> bool:
    """Add ``entry``, or update the reason and id of the same name; True when it is new."""
    values = {
        "guild_id": guild_id,
        "platform": str(entry.platform),
        "platform_user_id": entry.platform_user_id,
        "username": entry.username,
        "username_key": username_key,
        "reason": entry.reason,
        "added_by": entry.added_by,
        "added_at": entry.added_at,
    }
    existed = conn.execute(
        sa.select(slot_call_blacklist.c.id).where(
            slot_call_blacklist.c.guild_id == guild_id,
            slot_call_blacklist.c.platform == str(entry.platform),
            slot_call_blacklist.c.username_key == username_key,
        )
    ).first()
    stmt = insert_for(conn, slot_call_blacklist).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                slot_call_blacklist.c.guild_id,
                slot_call_blacklist.c.platform,
                slot_call_blacklist.c.username_key,
            ],
            set_={
                "platform_user_id": stmt.excluded.platform_user_id,
                "reason": stmt.excluded.reason,
            },
        )
    )
    return existed is None


def remove_from_blacklist(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    username_key: str,
    platform_user_ids: list[str],
) -> int:
    """Remove entries by that name, or for the accounts now called that; how many went."""
    matches = slot_call_blacklist.c.username_key == username_key
    if platform_user_ids:
        matches = sa.or_(matches, slot_call_blacklist.c.platform_user_id.in_(platform_user_ids))
    result = conn.execute(
        sa.delete(slot_call_blacklist).where(
            slot_call_blacklist.c.guild_id == guild_id,
            slot_call_blacklist.c.platform == str(platform),
            matches,
        )
    )
    return result.rowcount


def list_blacklist(conn: Connection, guild_id: int) -> list[BlacklistEntry]:
    query = (
        sa.select(slot_call_blacklist)
        .where(slot_call_blacklist.c.guild_id == guild_id)
        .order_by(slot_call_blacklist.c.username_key)
    )
    return [
        BlacklistEntry(
            platform=Platform(row.platform),
            platform_user_id=row.platform_user_id,
            username=row.username,
            reason=row.reason,
            added_by=row.added_by,
            added_at=row.added_at,
        )
        for row in conn.execute(query)
    ]


def bind_blacklisted_name(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str, username_key: str
) -> None:
    """Give an entry kept by name alone (nobody had chatted by it) the account of the viewer
    who uses that name now, so that their renaming later does not get them off the list."""
    c = slot_call_blacklist.c
    conn.execute(
        sa.update(slot_call_blacklist)
        .where(
            c.guild_id == guild_id,
            c.platform == str(platform),
            c.platform_user_id.is_(None),
            c.username_key == username_key,
        )
        .values(platform_user_id=platform_user_id)
    )


def is_blacklisted(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str, username_key: str
) -> bool:
    """By account id when the entry knows it, else by the name the viewer has now."""
    query = sa.select(slot_call_blacklist.c.id).where(
        slot_call_blacklist.c.guild_id == guild_id,
        slot_call_blacklist.c.platform == str(platform),
        sa.or_(
            slot_call_blacklist.c.platform_user_id == platform_user_id,
            sa.and_(
                slot_call_blacklist.c.platform_user_id.is_(None),
                slot_call_blacklist.c.username_key == username_key,
            ),
        ),
    )
    return conn.execute(query).first() is not None
