"""The overlays' SQL: tokens, settings and the alert feed. Every statement names its guild."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import utc
from core.features.overlays.settings import OverlaySettings, milestones_text, parse_milestones
from core.features.overlays.tables import (
    overlay_alert_counters,
    overlay_alerts,
    overlay_settings,
    overlay_tokens,
)
from core.storage.db import insert_for, insert_if_absent


@dataclass(frozen=True)
class StoredToken:
    guild_id: int
    kind: str
    token_sealed: str = field(repr=False)
    created_at: datetime


@dataclass(frozen=True)
class Alert:
    seq: int
    kind: str
    title: str
    detail: str
    created_at: datetime
    amount: int | None = None
    image_id: str | None = None  # a picture of overlay_media to show with it
    sound_id: str | None = None  # a sound of overlay_media to play with it
    seconds: int | None = None  # how long it stays; None: the overlay's setting
    replayed: bool = False  # the dashboard's replay: shown even of a kind turned off


# --- tokens ----------------------------------------------------------------------------------


def find_token(conn: Connection, guild_id: int, kind: str) -> StoredToken | None:
    t = overlay_tokens.c
    row = conn.execute(
        sa.select(overlay_tokens).where(t.guild_id == guild_id, t.kind == kind)
    ).first()
    return (
        None
        if row is None
        else StoredToken(row.guild_id, row.kind, row.token_sealed, row.created_at)
    )


def find_by_hash(conn: Connection, token_hash: str) -> tuple[int, str] | None:
    """(guild id, kind) of the token with this hash."""
    t = overlay_tokens.c
    row = conn.execute(sa.select(t.guild_id, t.kind).where(t.token_hash == token_hash)).first()
    return None if row is None else (int(row.guild_id), str(row.kind))


def save_token(
    conn: Connection, guild_id: int, kind: str, token_hash: str, sealed: str, at: datetime
) -> None:
    """Set the guild's token of ``kind``, replacing (so invalidating) any earlier one."""
    stmt = insert_for(conn, overlay_tokens).values(
        guild_id=guild_id, kind=kind, token_hash=token_hash, token_sealed=sealed, created_at=at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[overlay_tokens.c.guild_id, overlay_tokens.c.kind],
            set_={
                "token_hash": stmt.excluded.token_hash,
                "token_sealed": stmt.excluded.token_sealed,
                "created_at": stmt.excluded.created_at,
            },
        )
    )


def keep_first_token(
    conn: Connection, guild_id: int, kind: str, token_hash: str, sealed: str, at: datetime
) -> StoredToken:
    """Store the guild's first token of ``kind`` unless one is there (another caller's, made at
    the same moment: the insert waits for it and keeps it), and return the stored one, so two
    first uses hand out the same URL."""
    stmt = insert_for(conn, overlay_tokens).values(
        guild_id=guild_id, kind=kind, token_hash=token_hash, token_sealed=sealed, created_at=at
    )
    keys = [overlay_tokens.c.guild_id, overlay_tokens.c.kind]
    conn.execute(stmt.on_conflict_do_nothing(index_elements=keys))
    stored = find_token(conn, guild_id, kind)
    if stored is None:  # inserted or kept: a row is there until this transaction ends
        raise LookupError(f"no overlay token of {kind} for guild {guild_id} after storing one")
    return stored


# --- settings --------------------------------------------------------------------------------


def get_settings(conn: Connection, guild_id: int) -> OverlaySettings:
    row = conn.execute(
        sa.select(overlay_settings).where(overlay_settings.c.guild_id == guild_id)
    ).first()
    if row is None:
        return OverlaySettings()
    return OverlaySettings(
        alert_vip=bool(row.alert_vip),
        alert_gifts=bool(row.alert_gifts),
        alert_milestones=bool(row.alert_milestones),
        milestones=parse_milestones(row.milestones),
        alert_seconds=int(row.alert_seconds),
        accent_colour=row.accent_colour,
        text_colour=row.text_colour,
    )


def save_settings(conn: Connection, guild_id: int, chosen: OverlaySettings, at: datetime) -> None:
    values = {
        "alert_vip": chosen.alert_vip,
        "alert_gifts": chosen.alert_gifts,
        "alert_milestones": chosen.alert_milestones,
        "milestones": milestones_text(chosen.milestones),
        "alert_seconds": chosen.alert_seconds,
        "accent_colour": chosen.accent_colour,
        "text_colour": chosen.text_colour,
        "updated_at": at,
    }
    stmt = insert_for(conn, overlay_settings).values(guild_id=guild_id, **values)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[overlay_settings.c.guild_id], set_=values)
    )


# --- the alert feed --------------------------------------------------------------------------


def alert_created_at(conn: Connection, guild_id: int, source_ref: str) -> datetime | None:
    """When the alert announcing ``source_ref`` was made, or None."""
    a = overlay_alerts.c
    query = sa.select(a.created_at).where(a.guild_id == guild_id, a.source_ref == source_ref[:255])
    found = conn.execute(query).scalar()
    return None if found is None else utc(found)


def has_alert(conn: Connection, guild_id: int, source_ref: str) -> bool:
    a = overlay_alerts.c
    query = sa.select(a.seq).where(a.guild_id == guild_id, a.source_ref == source_ref[:255])
    return conn.execute(query).first() is not None


def next_seq(conn: Connection, guild_id: int) -> int:
    """Take the guild's next alert number (the counter row stays locked until commit)."""
    stmt = insert_for(conn, overlay_alert_counters).values(guild_id=guild_id, seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[overlay_alert_counters.c.guild_id],
        set_={"seq": overlay_alert_counters.c.seq + 1},
    ).returning(overlay_alert_counters.c.seq)
    return int(conn.execute(stmt).scalar_one())


def add_alert(
    conn: Connection,
    guild_id: int,
    seq: int,
    kind: str,
    title: str,
    detail: str,
    source_ref: str,
    at: datetime,
    *,
    amount: int | None = None,
    image_id: str | None = None,
    sound_id: str | None = None,
    seconds: int | None = None,
    platform: str | None = None,
    platform_user_id: str | None = None,
) -> bool:
    """Add the alert; False when ``source_ref`` is announced already (by a transaction that
    committed after this one looked: another process handling the same event)."""
    values = {
        "guild_id": guild_id,
        "seq": seq,
        "kind": kind,
        "title": title[:200],
        "detail": detail[:200],
        "source_ref": source_ref[:255],
        "created_at": at,
        "amount": amount,
        "image_id": image_id,
        "sound_id": sound_id,
        "seconds": seconds,
        "platform": platform,
        "platform_user_id": platform_user_id,
    }
    return insert_if_absent(conn, overlay_alerts, values)


def alerts_after(conn: Connection, guild_id: int, after: int, limit: int) -> list[Alert]:
    """The guild's alerts numbered above ``after``, oldest first."""
    a = overlay_alerts.c
    rows = conn.execute(
        sa.select(overlay_alerts)
        .where(a.guild_id == guild_id, a.seq > after)
        .order_by(a.seq)
        .limit(limit)
    )
    return [
        Alert(
            int(r.seq),
            r.kind,
            r.title,
            r.detail,
            r.created_at,
            None if r.amount is None else int(r.amount),
            r.image_id,
            r.sound_id,
            None if r.seconds is None else int(r.seconds),
            str(r.source_ref).startswith("replay:"),
        )
        for r in rows
    ]


def last_alert_seq(conn: Connection, guild_id: int) -> int:
    a = overlay_alerts.c
    return int(
        conn.execute(sa.select(sa.func.max(a.seq)).where(a.guild_id == guild_id)).scalar() or 0
    )
