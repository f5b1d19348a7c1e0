"""The tier records' SQL: read the unexpired ones, and record a sighting by :func:`merge`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import utc
from core.features.sub_tiers.records import BADGE, SubTier, merge, tier_label
from core.features.sub_tiers.tables import sub_tiers
from core.storage.db import insert_for

_BATCH = 500  # keeps an IN list within every backend's limits

__all__ = [
    "SubTier",
    "end_badge_hint",
    "record",
    "subscribed_among",
    "subscribers_in",
    "tier_label",
    "tiers_of",
]


def _sub_tier(row: sa.Row) -> SubTier:
    return SubTier(
        platform=row.platform,
        platform_user_id=row.platform_user_id,
        tier=row.tier,
        is_prime=bool(row.is_prime),
        source=row.source,
        seen_at=utc(row.seen_at),
        expires_at=utc(row.expires_at),
        since=utc(row.since),
        ended_at=utc(row.ended_at) if row.ended_at is not None else None,
    )


def tiers_of(
    conn: Connection, guild_id: int, platform: str, user_ids: Iterable[str], now: datetime
) -> dict[str, SubTier]:
    """The unexpired records of ``user_ids`` in the guild, by user id (others are absent)."""
    ids = list(dict.fromkeys(str(user_id) for user_id in user_ids))
    found: dict[str, SubTier] = {}
    for start in range(0, len(ids), _BATCH):
        query = sa.select(sub_tiers).where(
            sub_tiers.c.guild_id == guild_id,
            sub_tiers.c.platform == str(platform),
            sub_tiers.c.platform_user_id.in_(ids[start : start + _BATCH]),
            sub_tiers.c.expires_at > now,
        )
        for row in conn.execute(query):
            found[row.platform_user_id] = _sub_tier(row)
    return found


# The keys travel as one JSON array (a VALUES list of 50,000 keys took SQLAlchemy seconds to
# compile, anew for every batch; this text is compiled once).
_SUBSCRIBED_POSTGRES = sa.text("""
SELECT s.guild_id, s.platform, s.platform_user_id
FROM json_to_recordset(CAST(:keys AS json)) AS k(guild_id BIGINT, platform TEXT, user_id TEXT)
JOIN sub_tiers AS s
  ON s.guild_id = k.guild_id AND s.platform = k.platform AND s.platform_user_id = k.user_id
WHERE s.expires_at > :now
""").bindparams(sa.bindparam("now", type_=sub_tiers.c.expires_at.type))

_SUBSCRIBED_SQLITE = sa.text("""
SELECT s.guild_id, s.platform, s.platform_user_id
FROM json_each(:keys) AS k
JOIN sub_tiers AS s
  ON s.guild_id = k.value ->> '$.guild_id' AND s.platform = k.value ->> '$.platform'
 AND s.platform_user_id = k.value ->> '$.user_id'
WHERE s.expires_at > :now
""").bindparams(sa.bindparam("now", type_=sub_tiers.c.expires_at.type))


def subscribed_among(
    conn: Connection, keys: Sequence[tuple[int, str, str]], now: datetime
) -> set[tuple[int, str, str]]:
    """Those of ``(guild_id, platform, user_id)`` with an unexpired record: ``tiers_of`` for
    many guilds at once, in one statement (points for watching, issue 26)."""
    if not keys:
        return set()
    payload = json.dumps(
        [{"guild_id": g, "platform": str(p), "user_id": str(u)} for g, p, u in keys],
        ensure_ascii=False,
    )
    query = _SUBSCRIBED_SQLITE if conn.dialect.name == "sqlite" else _SUBSCRIBED_POSTGRES
    rows = conn.execute(query, {"keys": payload, "now": now})
    return {(row.guild_id, row.platform, row.platform_user_id) for row in rows}


def subscribers_in(
    conn: Connection, guild_ids: Sequence[int], now: datetime
) -> set[tuple[int, str, str]]:
    """Every ``(guild_id, platform, user_id)`` with an unexpired record in ``guild_ids`` (points
    for watching join them to the tick's crowds in the database)."""
    found: set[tuple[int, str, str]] = set()
    ids = list(dict.fromkeys(guild_ids))
    s = sub_tiers.c
    for start in range(0, len(ids), _BATCH):
        rows = conn.execute(
            sa.select(s.guild_id, s.platform, s.platform_user_id).where(
                s.guild_id.in_(ids[start : start + _BATCH]), s.expires_at > now
            )
        )
        found.update((row.guild_id, row.platform, row.platform_user_id) for row in rows)
    return found


def _values(guild_id: int, sub: SubTier) -> dict[str, object]:
    return {
        "guild_id": guild_id,
        "platform": str(sub.platform),
        "platform_user_id": sub.platform_user_id,
        "tier": sub.tier,
        "is_prime": sub.is_prime,
        "source": sub.source[:48],
        "since": sub.first_seen,
        "seen_at": sub.seen_at,
        "expires_at": sub.expires_at,
        "ended_at": sub.ended_at,
    }


def record(conn: Connection, guild_id: int, sighting: SubTier, now: datetime) -> SubTier | None:
    """Record what a source said about one viewer, by the rule of :func:`merge`; the record as
    it now stands (None when nothing counts). The row is locked while deciding, so two
    sightings of one viewer at once are decided one after the other."""
    key = (
        sub_tiers.c.guild_id == guild_id,
        sub_tiers.c.platform == str(sighting.platform),
        sub_tiers.c.platform_user_id == sighting.platform_user_id,
    )
    row = conn.execute(sa.select(sub_tiers).where(*key).with_for_update()).first()
    existing = None if row is None else _sub_tier(row)
    merged = merge(existing, sighting, now)
    if merged is None:
        return existing if existing is not None and existing.expires_at > now else None
    if row is None:
        stmt = insert_for(conn, sub_tiers).values(_values(guild_id, merged))
        inserted = conn.execute(stmt.on_conflict_do_nothing().returning(sub_tiers.c.tier)).first()
        if inserted is None:  # another sighting inserted it first: decide against that one
            return record(conn, guild_id, sighting, now)
        return merged
    values = _values(guild_id, merged)
    conn.execute(sa.update(sub_tiers).where(*key).values(values))
    return merged


def end_record(
    conn: Connection, guild_id: int, platform: str, platform_user_id: str, ended_at: datetime
) -> bool:
    """Make a viewer's record stop counting at ``ended_at`` (their subscription ended), unless a
    source saw it after that (a resub told before the end arrived), and remember the end, so a
    source that spoke before it and is delivered later changes nothing (see :func:`merge`).
    Whether the end was news; a repeated end changes nothing."""
    s = sub_tiers.c
    at = sa.bindparam("end_time", ended_at, type_=s.expires_at.type)
    result = conn.execute(
        sa.update(sub_tiers)
        .where(
            s.guild_id == guild_id,
            s.platform == platform,
            s.platform_user_id == platform_user_id,
            s.seen_at <= ended_at,
            sa.or_(s.ended_at.is_(None), s.ended_at < ended_at),
        )
        .values(ended_at=at, expires_at=sa.case((s.expires_at > at, at), else_=s.expires_at))
    )
    return bool(result.rowcount)


def remember_end(conn: Connection, guild_id: int, sub: SubTier) -> bool:
    """Keep the end of a subscription nothing was recorded for (its subscribe not delivered
    yet) as a record that does not count (``sub.expires_at`` is the end), so the subscribe
    told late changes nothing (see :func:`merge`). Whether it was kept (False: a record exists)."""
    stmt = insert_for(conn, sub_tiers).values(_values(guild_id, sub))
    return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount)


def end_badge_hint(
    conn: Connection, guild_id: int, platform: str, platform_user_id: str, now: datetime
) -> bool:
    """Make a viewer's badge hint stop counting at ``now`` (Helix said they are not subscribed);
    a record from a real source (an event, a Helix answer) stays. Whether a hint was ended."""
    return _end(conn, guild_id, platform, platform_user_id, now, sub_tiers.c.source == BADGE)


def _end(
    conn: Connection,
    guild_id: int,
    platform: str,
    platform_user_id: str,
    at: datetime,
    *only: sa.ColumnElement[bool],
) -> bool:
    """The viewer's record, if still counting at ``at`` and ``only`` holds, stops at ``at``."""
    result = conn.execute(
        sa.update(sub_tiers)
        .where(
            sub_tiers.c.guild_id == guild_id,
            sub_tiers.c.platform == platform,
            sub_tiers.c.platform_user_id == platform_user_id,
            sub_tiers.c.expires_at > at,
            *only,
        )
        .values(expires_at=at)
    )
    return bool(result.rowcount)


def forget_expired(conn: Connection, before: datetime) -> int:
    """Delete the records that stopped counting before ``before``; how many."""
    result = conn.execute(sa.delete(sub_tiers).where(sub_tiers.c.expires_at <= before))
    return result.rowcount or 0
