"""Slot call tables: each guild's settings and the calls (one per chat message); the blacklist's
are in :mod:`.blacklist_rows`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.slot_calls.tables import slot_call_settings, slot_calls
from core.storage.db import insert_for

OPEN = "open"
PICKED = "picked"
CLEARED = "cleared"
SKIPPED = "skipped"  # passed over from its post's Skip button


@dataclass(frozen=True)
class SlotCallSettings:
    enabled: bool = False
    channel_id: int | None = None  # as stored; None falls back to SLOT_CALLS_CHANNEL_ID
    cooldown_seconds: int = 30
    max_open_per_user: int | None = None  # None: no limit
    require_link: bool = False
    answer_sr: bool = True  # False: !sr is another bot's (song requests); !call alone calls


@dataclass(frozen=True)
class SlotCall:
    id: int
    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    platform_user_id: str
    username: str
    discord_user_id: int | None
    slot_name: str
    status: str
    called_at: datetime
    posted_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: int | None = None


_CALL_FIELDS = tuple(field.name for field in fields(SlotCall))


@dataclass(frozen=True)
class NewSlotCall:
    guild_id: int
    event_key: str
    platform: Platform
    broadcaster_user_id: str
    platform_user_id: str
    username: str
    discord_user_id: int | None
    slot_name: str
    slot_key: str
    called_at: datetime


# --- settings --------------------------------------------------------------------------------


def get_settings(conn: Connection, guild_id: int, *, lock: bool = False) -> SlotCallSettings | None:
    """``lock`` holds the guild's settings row until the transaction ends (PostgreSQL; SQLite's
    write transactions are serial anyway): a call's checks and insert take it, so two calls of
    one guild are checked one after the other."""
    query = sa.select(slot_call_settings).where(slot_call_settings.c.guild_id == guild_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    return SlotCallSettings(
        enabled=bool(row.enabled),
        channel_id=row.channel_id,
        cooldown_seconds=int(row.cooldown_seconds),
        max_open_per_user=row.max_open_per_user,
        require_link=bool(row.require_link),
        answer_sr=bool(row.answer_sr),
    )


def save_settings(
    conn: Connection, guild_id: int, settings: SlotCallSettings, now: datetime
) -> None:
    values = {
        "enabled": settings.enabled,
        "channel_id": settings.channel_id,
        "cooldown_seconds": settings.cooldown_seconds,
        "max_open_per_user": settings.max_open_per_user,
        "require_link": settings.require_link,
        "answer_sr": settings.answer_sr,
        "updated_at": now,
    }
    stmt = insert_for(conn, slot_call_settings).values(guild_id=guild_id, **values)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[slot_call_settings.c.guild_id], set_=values)
    )


# --- calls -----------------------------------------------------------------------------------


def insert_call(conn: Connection, call: NewSlotCall) -> int | None:
    """Store ``call``; its id, or None when a call from the same chat message is stored already."""
    stmt = (
        insert_for(conn, slot_calls)
        .values({**asdict(call), "platform": str(call.platform), "status": OPEN})
        .on_conflict_do_nothing(index_elements=[slot_calls.c.guild_id, slot_calls.c.event_key])
        .returning(slot_calls.c.id)
    )
    return conn.execute(stmt).scalar_one_or_none()


def is_event_stored(conn: Connection, guild_id: int, event_key: str) -> bool:
    query = sa.select(slot_calls.c.id).where(
        slot_calls.c.guild_id == guild_id, slot_calls.c.event_key == event_key
    )
    return conn.execute(query).first() is not None


def get_call(conn: Connection, guild_id: int, call_id: int) -> SlotCall | None:
    query = sa.select(slot_calls).where(
        slot_calls.c.guild_id == guild_id, slot_calls.c.id == call_id
    )
    row = conn.execute(query).first()
    return None if row is None else _call(row)


def last_call_time(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str
) -> datetime | None:
    """When this viewer last had a call accepted in the guild (open or not)."""
    query = sa.select(sa.func.max(slot_calls.c.called_at)).where(
        slot_calls.c.guild_id == guild_id,
        slot_calls.c.platform == str(platform),
        slot_calls.c.platform_user_id == platform_user_id,
    )
    return conn.execute(query).scalar_one_or_none()


def last_cleared_at(conn: Connection, guild_id: int) -> datetime | None:
    """When the guild's open calls were last cleared (``!clearslots``, **Clear all**), as far
    as the cleared calls still tell (a clear of an empty queue leaves no trace)."""
    query = sa.select(sa.func.max(slot_calls.c.closed_at)).where(
        slot_calls.c.guild_id == guild_id, slot_calls.c.status == CLEARED
    )
    return conn.execute(query).scalar_one_or_none()


def count_open_calls_of(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str
) -> int:
    query = sa.select(sa.func.count()).where(
        slot_calls.c.guild_id == guild_id,
        slot_calls.c.status == OPEN,
        slot_calls.c.platform == str(platform),
        slot_calls.c.platform_user_id == platform_user_id,
    )
    return int(conn.execute(query).scalar_one())


def find_open_call_by_key(conn: Connection, guild_id: int, slot_key: str) -> SlotCall | None:
    query = (
        sa.select(slot_calls)
        .where(
            slot_calls.c.guild_id == guild_id,
            slot_calls.c.status == OPEN,
            slot_calls.c.slot_key == slot_key,
        )
        .order_by(slot_calls.c.id)
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _call(row)


def queue_position(conn: Connection, guild_id: int, call_id: int) -> int:
    """The open call's place in the guild's queue, 1 for the oldest."""
    query = sa.select(sa.func.count()).where(
        slot_calls.c.guild_id == guild_id,
        slot_calls.c.status == OPEN,
        slot_calls.c.id <= call_id,
    )
    return int(conn.execute(query).scalar_one())


def count_open_calls(conn: Connection, guild_id: int) -> int:
    query = sa.select(sa.func.count()).where(
        slot_calls.c.guild_id == guild_id, slot_calls.c.status == OPEN
    )
    return int(conn.execute(query).scalar_one())


def list_open_calls(conn: Connection, guild_id: int, limit: int, offset: int = 0) -> list[SlotCall]:
    query = (
        sa.select(slot_calls)
        .where(slot_calls.c.guild_id == guild_id, slot_calls.c.status == OPEN)
        .order_by(slot_calls.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_call(row) for row in conn.execute(query)]


def list_open_call_ids(conn: Connection, guild_id: int) -> list[int]:
    query = (
        sa.select(slot_calls.c.id)
        .where(slot_calls.c.guild_id == guild_id, slot_calls.c.status == OPEN)
        .order_by(slot_calls.c.id)
    )
    return list(conn.execute(query).scalars())


def close_call(
    conn: Connection, guild_id: int, call_id: int, status: str, now: datetime, closed_by: int
) -> bool:
    """Close one open call as ``status``; False when it was not open any more."""
    result = conn.execute(
        sa.update(slot_calls)
        .where(
            slot_calls.c.guild_id == guild_id,
            slot_calls.c.id == call_id,
            slot_calls.c.status == OPEN,
        )
        .values(status=status, closed_at=now, closed_by=closed_by)
    )
    return result.rowcount == 1


def close_open_calls(
    conn: Connection,
    guild_id: int,
    status: str,
    now: datetime,
    closed_by: int,
    *,
    called_by: datetime | None = None,
) -> int:
    """Close the open calls (``called_by``: those typed by then only) as ``status``."""
    query = sa.update(slot_calls).where(
        slot_calls.c.guild_id == guild_id, slot_calls.c.status == OPEN
    )
    if called_by is not None:
        query = query.where(slot_calls.c.called_at <= called_by)
    result = conn.execute(query.values(status=status, closed_at=now, closed_by=closed_by))
    return result.rowcount


def close_open_calls_of(
    conn: Connection,
    guild_id: int,
    platform: Platform,
    platform_user_ids: list[str],
    status: str,
    now: datetime,
    closed_by: int | None,
    *,
    called_by: datetime | None = None,
) -> int:
    """Close these viewers' open calls (``called_by``: those typed by then only) as
    ``status``; how many there were."""
    if not platform_user_ids:
        return 0
    c = slot_calls.c
    query = sa.update(slot_calls).where(
        c.guild_id == guild_id,
        c.status == OPEN,
        c.platform == str(platform),
        c.platform_user_id.in_(platform_user_ids),
    )
    if called_by is not None:
        query = query.where(c.called_at <= called_by)
    result = conn.execute(query.values(status=status, closed_at=now, closed_by=closed_by))
    return result.rowcount


def open_callers(conn: Connection, guild_id: int, platform: Platform) -> list[tuple[str, str]]:
    """The viewers with open calls on ``platform``: (platform user id, name at the call)."""
    query = (
        sa.select(slot_calls.c.platform_user_id, slot_calls.c.username)
        .where(
            slot_calls.c.guild_id == guild_id,
            slot_calls.c.status == OPEN,
            slot_calls.c.platform == str(platform),
        )
        .distinct()
    )
    return [(row.platform_user_id, row.username) for row in conn.execute(query)]


def forget_closed_before(conn: Connection, before: datetime) -> int:
    """Delete every guild's calls closed (picked, cleared or skipped) before ``before``; how
    many went. Open calls stay however old."""
    result = conn.execute(
        sa.delete(slot_calls).where(slot_calls.c.status != OPEN, slot_calls.c.closed_at < before)
    )
    return result.rowcount


def mark_posted(conn: Connection, guild_id: int, call_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(slot_calls)
        .where(slot_calls.c.guild_id == guild_id, slot_calls.c.id == call_id)
        .values(posted_at=now)
    )


def _call(row: sa.Row) -> SlotCall:
    values = {name: row._mapping[name] for name in _CALL_FIELDS}
    values["platform"] = Platform(row.platform)
    return SlotCall(**values)
