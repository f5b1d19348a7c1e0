"""Temporary VIP SQL: settings, grants and the audit log (processed redemptions:
:mod:`core.features.vip.redemptions_repository`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.live.changes import touch
from core.features.vip.ports import AUDIT_WRITTEN
from core.features.vip.tables import vip_audit, vip_grants, vip_settings
from core.storage import hooks
from core.storage.db import insert_for

# Grant sources
REDEMPTION = "redemption"
RULE = "rule"  # a rule's event other than a redemption (a sub, a gift, a cheer, KICKs)
MANUAL = "manual"
OUTSIDE = "outside"


@dataclass(frozen=True)
class VipSettings:
    reward_id: str | None = None
    reward_title: str | None = None
    reward_cost: int | None = None
    reward_prompt: str | None = None
    reward_max_per_stream: int | None = None
    reward_max_per_user_per_stream: int | None = None
    reward_cooldown_seconds: int | None = None
    duration_hours: int = 24
    is_stacking: bool = True
    max_hours: int = 168
    max_concurrent: int | None = None
    is_chat_notices: bool = True
    is_auto_removal: bool = True
    notice_channel_id: int | None = None
    kick_reward_title: str | None = None
    kick_role_id: int | None = None


@dataclass(frozen=True)
class Grant:
    id: int
    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    platform_user_id: str
    username: str
    source: str
    granted_at: datetime
    expires_at: datetime | None
    removed_at: datetime | None = None
    removal_reason: str | None = None
    last_error: str | None = None
    discord_user_id: int | None = None  # Kick: the member holding the temporary role
    role_id: int | None = None
    removal_tried_at: datetime | None = None  # when removing it last failed
    removal_failures: int = 0  # tries at removing it that failed in a row


@dataclass(frozen=True)
class AuditEntry:
    guild_id: int
    platform: Platform
    broadcaster_user_id: str
    platform_user_id: str
    username: str
    action: str
    actor_kind: str  # "viewer", "discord" or "system"
    at: datetime
    actor_id: str | None = None
    reason: str | None = None
    redemption_id: str | None = None
    reward_cost: int | None = None
    previous_expires_at: datetime | None = None
    new_expires_at: datetime | None = None
    rule_id: int | None = None  # the rule that granted or refused (vip_rules.id)


AUDIT_FIELDS = tuple(field.name for field in fields(AuditEntry))

# --- settings --------------------------------------------------------------------------------


def get_settings(conn: Connection, guild_id: int) -> VipSettings:
    row = conn.execute(sa.select(vip_settings).where(vip_settings.c.guild_id == guild_id)).first()
    if row is None:
        return VipSettings()
    values = row._mapping
    return VipSettings(**{field.name: values[field.name] for field in fields(VipSettings)})


def save_settings(conn: Connection, guild_id: int, changes: dict[str, Any], at: datetime) -> None:
    insert = insert_for(conn, vip_settings).values(guild_id=guild_id, updated_at=at, **changes)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[vip_settings.c.guild_id], set_={**changes, "updated_at": at}
        )
    )


def guilds_with_reward(conn: Connection) -> list[int]:
    """Guilds with a Twitch VIP reward set up."""
    rows = conn.execute(
        sa.select(vip_settings.c.guild_id).where(vip_settings.c.reward_id.is_not(None))
    )
    return [row.guild_id for row in rows]


# --- grants ----------------------------------------------------------------------------------


def _grant(row: Any) -> Grant:
    values = dict(row._mapping)
    values["platform"] = Platform(values["platform"])
    return Grant(**values)


def get_grant(conn: Connection, guild_id: int, grant_id: int) -> Grant | None:
    row = conn.execute(
        sa.select(vip_grants).where(vip_grants.c.guild_id == guild_id, vip_grants.c.id == grant_id)
    ).first()
    return None if row is None else _grant(row)


def open_grant(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str
) -> Grant | None:
    viewer = vip_grants.c.platform_user_id == platform_user_id
    return _latest_open_grant(conn, guild_id, platform, viewer)


def removed_since(
    conn: Connection, guild_id: int, platform: Platform, platform_user_id: str, at: datetime
) -> bool:
    """Whether a grant of the viewer was closed at ``at`` or later (a VIP added before then and
    told late was removed since)."""
    g = vip_grants.c
    query = sa.select(g.id).where(
        g.guild_id == guild_id,
        g.platform == platform.value,
        g.platform_user_id == platform_user_id,
        g.removed_at >= at,
    )
    return conn.execute(query.limit(1)).first() is not None


def is_role_of_open_grants(conn: Connection, guild_id: int, role_id: int) -> bool:
    """Whether a Kick grant not removed yet holds ``role_id`` (its expiry takes it back, even
    after the Kick reward was given another role)."""
    g = vip_grants.c
    query = sa.select(g.id).where(
        g.guild_id == guild_id, g.role_id == role_id, g.removed_at.is_(None)
    )
    return conn.execute(query.limit(1)).first() is not None


def open_grant_by_name(
    conn: Connection, guild_id: int, platform: Platform, username: str
) -> Grant | None:
    viewer = sa.func.lower(vip_grants.c.username) == username.lower()
    return _latest_open_grant(conn, guild_id, platform, viewer)


def _latest_open_grant(
    conn: Connection, guild_id: int, platform: Platform, viewer: sa.ColumnElement[bool]
) -> Grant | None:
    row = conn.execute(
        sa.select(vip_grants)
        .where(
            vip_grants.c.guild_id == guild_id,
            vip_grants.c.platform == platform.value,
            viewer,
            vip_grants.c.removed_at.is_(None),
        )
        .order_by(vip_grants.c.id.desc())
    ).first()
    return None if row is None else _grant(row)


def open_grants(conn: Connection, guild_id: int) -> list[Grant]:
    rows = conn.execute(
        sa.select(vip_grants)
        .where(vip_grants.c.guild_id == guild_id, vip_grants.c.removed_at.is_(None))
        .order_by(vip_grants.c.granted_at, vip_grants.c.id)
    )
    return [_grant(row) for row in rows]


def count_temporary(conn: Connection, guild_id: int, platform: Platform) -> int:
    """Open grants StreamKeeper will remove (everything but outside VIPs)."""
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(
                vip_grants.c.guild_id == guild_id,
                vip_grants.c.platform == platform.value,
                vip_grants.c.removed_at.is_(None),
                vip_grants.c.source != OUTSIDE,
            )
        ).scalar_one()
    )


def due_grants(conn: Connection, now: datetime, limit: int = 500) -> list[Grant]:
    """Open temporary grants whose expiry has passed, in every guild that removes them
    (automatic removal on): those whose removal was never tried first, then those tried
    longest ago, each oldest expiry first (so grants that keep failing take their turn behind
    the others, never in their way). A guild with automatic removal off is left out here, not
    after the limit, so its expired grants never take the others' places."""
    kept = sa.select(vip_settings.c.guild_id).where(vip_settings.c.is_auto_removal == sa.false())
    rows = conn.execute(
        sa.select(vip_grants)
        .where(
            vip_grants.c.removed_at.is_(None),
            vip_grants.c.source != OUTSIDE,
            vip_grants.c.expires_at.is_not(None),
            vip_grants.c.expires_at <= now,
            vip_grants.c.guild_id.not_in(kept),
        )
        .order_by(
            vip_grants.c.removal_tried_at.asc().nulls_first(),
            vip_grants.c.expires_at,
            vip_grants.c.id,
        )
        .limit(limit)
    )
    return [_grant(row) for row in rows]


def add_grant(conn: Connection, grant: Grant) -> int:
    values = {f.name: getattr(grant, f.name) for f in fields(Grant) if f.name != "id"}
    values["platform"] = grant.platform.value
    touch(conn, grant.guild_id, "vip")  # the dashboard's VIP list hears of it
    return int(conn.execute(vip_grants.insert().values(values)).inserted_primary_key[0])


def set_expiry(conn: Connection, grant_id: int, expires_at: datetime | None) -> None:
    """A new end: its removal, when that comes, starts counting failures afresh."""
    conn.execute(
        vip_grants.update()
        .where(vip_grants.c.id == grant_id)
        .values(expires_at=expires_at, removal_failures=0)
    )


def adopt_grant(
    conn: Connection,
    grant_id: int,
    source: str,
    expires_at: datetime | None,
    *,
    discord_user_id: int | None = None,
    role_id: int | None = None,
) -> None:
    """Make an open grant ours (``source``) with this expiry (Kick: on this member's role)."""
    held = {} if role_id is None else {"discord_user_id": discord_user_id, "role_id": role_id}
    conn.execute(
        vip_grants.update()
        .where(vip_grants.c.id == grant_id)
        .values(source=source, expires_at=expires_at, **held)
    )


def close_grant(
    conn: Connection, grant_id: int, at: datetime, reason: str, *, if_expired: bool = False
) -> bool:
    """Close an open grant; False when it was already closed (by another process), or, with
    ``if_expired``, when its time was extended past ``at`` meanwhile."""
    still = vip_grants.c.expires_at <= at if if_expired else sa.true()
    result = conn.execute(
        vip_grants.update()
        .where(vip_grants.c.id == grant_id, vip_grants.c.removed_at.is_(None), still)
        .values(removed_at=at, removal_reason=reason[:200], last_error=None)
        .returning(vip_grants.c.id)
    )
    return result.first() is not None


def note_removal_error(
    conn: Connection, grant_ids: Sequence[int], error: str, at: datetime
) -> None:
    """The grants' removal failed (or waits on the same cause) at ``at``: one more failure."""
    conn.execute(
        vip_grants.update()
        .where(vip_grants.c.id.in_(list(grant_ids)))
        .values(
            last_error=error[:200],
            removal_tried_at=at,
            removal_failures=vip_grants.c.removal_failures + 1,
        )
    )


def clear_removal_error(conn: Connection, grant_id: int) -> None:
    """What kept the grant's VIP from being removed or given back is over."""
    conn.execute(
        vip_grants.update()
        .where(vip_grants.c.id == grant_id)
        .values(last_error=None, removal_failures=0)
    )


# --- audit -----------------------------------------------------------------------------------


def add_audit(conn: Connection, entry: AuditEntry) -> None:
    values = {name: getattr(entry, name) for name in AUDIT_FIELDS}
    values["platform"] = entry.platform.value
    conn.execute(vip_audit.insert().values(values))
    touch(conn, entry.guild_id, "vip")  # every change of the list is logged here
    hooks.emit(conn, AUDIT_WRITTEN, entry)  # e.g. the overlays' VIP alert, in this transaction


def audit_log(
    conn: Connection,
    guild_id: int,
    *,
    platform_user_id: str | None = None,
    username: str | None = None,
    limit: int | None = 20,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """Newest first (``limit`` None: every row, oldest first, for exports); ``since`` and
    ``until`` bound ``at`` (from, and before)."""
    query = sa.select(vip_audit).where(vip_audit.c.guild_id == guild_id)
    if action is not None:
        query = query.where(vip_audit.c.action == action)
    if since is not None:
        query = query.where(vip_audit.c.at >= since)
    if until is not None:
        query = query.where(vip_audit.c.at < until)
    if platform_user_id is not None:
        query = query.where(vip_audit.c.platform_user_id == platform_user_id)
    if username is not None:
        query = query.where(sa.func.lower(vip_audit.c.username) == username.lower())
    if limit is None:
        query = query.order_by(vip_audit.c.at, vip_audit.c.id)
    else:
        query = query.order_by(vip_audit.c.at.desc(), vip_audit.c.id.desc()).limit(limit)
    entries = []
    for row in conn.execute(query):
        values = {name: row._mapping[name] for name in AUDIT_FIELDS}
        values["platform"] = Platform(values["platform"])
        entries.append(AuditEntry(**values))
    return entries
