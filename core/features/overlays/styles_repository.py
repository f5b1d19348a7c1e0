"""The SQL of alert styles, their variations and the uploaded pictures and sounds. Every
statement names its guild."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.overlays.alert_kinds import BY_NAME, AlertStyle, Variation, default_style
from core.features.overlays.repository import get_settings
from core.features.overlays.tables import (
    overlay_alert_styles,
    overlay_alert_variations,
    overlay_media,
)
from core.ownership.exclusive import lock_key
from core.storage.db import insert_for


@dataclass(frozen=True)
class MediaInfo:
    media_id: str
    what: str  # image or sound
    content_type: str
    name: str
    size: int
    created_at: datetime


@dataclass(frozen=True)
class MediaFile:
    content_type: str
    data: bytes


# --- styles ----------------------------------------------------------------------------------


def get_style(conn: Connection, guild_id: int, kind: str) -> AlertStyle:
    """The kind's style; its defaults when never saved. The older kinds' on/off is their
    overlay setting, and every kind's seconds default to the overlay's."""
    settings = get_settings(conn, guild_id)
    s = overlay_alert_styles.c
    row = conn.execute(
        sa.select(overlay_alert_styles).where(s.guild_id == guild_id, s.kind == kind)
    ).first()
    style = (
        default_style(kind, settings.alert_seconds)
        if row is None
        else AlertStyle(
            kind, bool(row.enabled), row.template, int(row.seconds), row.image_id, row.sound_id
        )
    )
    switch = BY_NAME[kind].legacy_switch
    if switch:
        return AlertStyle(
            kind,
            bool(getattr(settings, switch)),
            style.template,
            style.seconds,
            style.image_id,
            style.sound_id,
        )
    return style


def kinds_off(conn: Connection, guild_id: int) -> set[str]:
    """The kinds of alert turned off, as :func:`get_style` tells each, in two statements (the
    live overlays ask at every change)."""
    settings = get_settings(conn, guild_id)
    s = overlay_alert_styles.c
    saved = dict(conn.execute(sa.select(s.kind, s.enabled).where(s.guild_id == guild_id)).all())
    off = set()
    for name, kind in BY_NAME.items():
        if kind.legacy_switch:
            is_on = bool(getattr(settings, kind.legacy_switch))
        elif name in saved:
            is_on = bool(saved[name])
        else:
            is_on = default_style(name, settings.alert_seconds).enabled
        if not is_on:
            off.add(name)
    return off


def save_style(conn: Connection, guild_id: int, style: AlertStyle, at: datetime) -> None:
    values = {
        "enabled": style.enabled,
        "template": style.template,
        "seconds": style.seconds,
        "image_id": style.image_id,
        "sound_id": style.sound_id,
        "updated_at": at,
    }
    stmt = insert_for(conn, overlay_alert_styles).values(
        guild_id=guild_id, kind=style.kind, **values
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[overlay_alert_styles.c.guild_id, overlay_alert_styles.c.kind],
            set_=values,
        )
    )


# --- variations ------------------------------------------------------------------------------


def variations(conn: Connection, guild_id: int, kind: str) -> list[Variation]:
    v = overlay_alert_variations.c
    rows = conn.execute(
        sa.select(overlay_alert_variations)
        .where(v.guild_id == guild_id, v.kind == kind)
        .order_by(v.threshold)
    )
    return [Variation(int(r.threshold), r.template, r.image_id, r.sound_id) for r in rows]


def save_variation(conn: Connection, guild_id: int, kind: str, variation: Variation) -> None:
    """Add the variation, or replace the one with the same threshold."""
    values = {
        "template": variation.template,
        "image_id": variation.image_id,
        "sound_id": variation.sound_id,
    }
    stmt = insert_for(conn, overlay_alert_variations).values(
        guild_id=guild_id, kind=kind, threshold=variation.threshold, **values
    )
    v = overlay_alert_variations.c
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[v.guild_id, v.kind, v.threshold], set_=values)
    )


def delete_variation(conn: Connection, guild_id: int, kind: str, threshold: int) -> bool:
    v = overlay_alert_variations.c
    done = conn.execute(
        sa.delete(overlay_alert_variations).where(
            v.guild_id == guild_id, v.kind == kind, v.threshold == threshold
        )
    )
    return bool(done.rowcount)


# --- pictures and sounds ---------------------------------------------------------------------


def lock_media(conn: Connection, guild_id: int) -> None:
    """Hold the guild's files until the transaction ends, so that uploads at the same moment
    are counted against the cap one after the other: a transaction-scoped advisory lock on
    PostgreSQL; SQLite's transactions already take its one writer lock as they begin."""
    if conn.dialect.name == "postgresql":
        key = lock_key(f"overlay_media:{guild_id}")
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def add_media(
    conn: Connection,
    guild_id: int,
    info: MediaInfo,
    data: bytes,
) -> None:
    conn.execute(
        overlay_media.insert().values(
            guild_id=guild_id,
            media_id=info.media_id,
            what=info.what,
            content_type=info.content_type,
            name=info.name[:100],
            size=info.size,
            data=data,
            created_at=info.created_at,
        )
    )


def list_media(conn: Connection, guild_id: int) -> list[MediaInfo]:
    m = overlay_media.c
    rows = conn.execute(
        sa.select(m.media_id, m.what, m.content_type, m.name, m.size, m.created_at)
        .where(m.guild_id == guild_id)
        .order_by(m.created_at, m.media_id)
    )
    return [
        MediaInfo(r.media_id, r.what, r.content_type, r.name, int(r.size), r.created_at)
        for r in rows
    ]


def media_file(conn: Connection, guild_id: int, media_id: str) -> MediaFile | None:
    """The guild's own file; None for another guild's or an unknown id."""
    m = overlay_media.c
    row = conn.execute(
        sa.select(m.content_type, m.data).where(m.guild_id == guild_id, m.media_id == media_id)
    ).first()
    return None if row is None else MediaFile(row.content_type, bytes(row.data))


def delete_media(conn: Connection, guild_id: int, media_id: str) -> bool:
    """Delete the file and every choice of it (styles, variations): nothing plays it again."""
    m, s, v = overlay_media.c, overlay_alert_styles.c, overlay_alert_variations.c
    for table, cols in ((overlay_alert_styles, s), (overlay_alert_variations, v)):
        for column in ("image_id", "sound_id"):
            conn.execute(
                sa.update(table)
                .where(cols.guild_id == guild_id, cols[column] == media_id)
                .values({column: None})
            )
    done = conn.execute(
        sa.delete(overlay_media).where(m.guild_id == guild_id, m.media_id == media_id)
    )
    return bool(done.rowcount)


def media_kinds(conn: Connection, guild_id: int) -> dict[str, str]:
    """The guild's media ids and what each is (image or sound)."""
    m = overlay_media.c
    return {
        r.media_id: r.what
        for r in conn.execute(sa.select(m.media_id, m.what).where(m.guild_id == guild_id))
    }


def media_bytes_total(conn: Connection, guild_id: int) -> int:
    m = overlay_media.c
    total = conn.execute(sa.select(sa.func.sum(m.size)).where(m.guild_id == guild_id)).scalar()
    return int(total or 0)
