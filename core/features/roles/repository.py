"""Watchtime role tiers and settings per guild, and the link and watchtime reads role sync needs.

Account links and watchtime belong to other features; this module only reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.linking.repository import links_of_platform
from core.features.roles.tables import role_awards, role_settings, role_tiers
from core.features.watchtime.tables import watchtime
from core.storage.db import insert_for


@dataclass(frozen=True)
class RoleTier:
    role_id: int
    minutes: int
    enabled: bool = True  # off: role sync leaves this role alone (neither gives nor takes it)

    @property
    def seconds(self) -> int:
        return self.minutes * 60


@dataclass(frozen=True)
class RoleSettings:
    enabled: bool = True
    mode: str = "all"  # "all" reached tiers, or only the "highest"
    dm_on_new_role: bool = False


# --- tiers ---------------------------------------------------------------------------------


def list_tiers(conn: Connection, guild_id: int) -> list[RoleTier]:
    """The guild's tiers, lowest threshold first."""
    query = (
        sa.select(role_tiers.c.role_id, role_tiers.c.minutes, role_tiers.c.enabled)
        .where(role_tiers.c.guild_id == guild_id)
        .order_by(role_tiers.c.minutes, role_tiers.c.role_id)
    )
    return [RoleTier(row.role_id, row.minutes, bool(row.enabled)) for row in conn.execute(query)]


def insert_tier(conn: Connection, guild_id: int, tier: RoleTier, now: datetime) -> bool:
    """Add ``tier``; False when the role is already a tier of this guild."""
    stmt = insert_for(conn, role_tiers).values(
        guild_id=guild_id, role_id=tier.role_id, minutes=tier.minutes, created_at=now
    )
    inserted = conn.execute(stmt.on_conflict_do_nothing().returning(role_tiers.c.role_id))
    return inserted.first() is not None


def update_tier(conn: Connection, guild_id: int, tier: RoleTier) -> bool:
    result = conn.execute(
        sa.update(role_tiers)
        .where(role_tiers.c.guild_id == guild_id, role_tiers.c.role_id == tier.role_id)
        .values(minutes=tier.minutes)
    )
    return result.rowcount == 1


def set_tier_enabled(conn: Connection, guild_id: int, role_id: int, enabled: bool) -> bool:
    result = conn.execute(
        sa.update(role_tiers)
        .where(role_tiers.c.guild_id == guild_id, role_tiers.c.role_id == role_id)
        .values(enabled=enabled)
    )
    return result.rowcount == 1


def delete_tier(conn: Connection, guild_id: int, role_id: int) -> bool:
    """The tier, and who reached it (kept while the tier exists, as the privacy page says)."""
    result = conn.execute(
        sa.delete(role_tiers).where(
            role_tiers.c.guild_id == guild_id, role_tiers.c.role_id == role_id
        )
    )
    conn.execute(
        sa.delete(role_awards).where(
            role_awards.c.guild_id == guild_id, role_awards.c.role_id == role_id
        )
    )
    return result.rowcount == 1


def guilds_where_member_reached_tiers(conn: Connection, discord_user_id: int) -> list[int]:
    """The guilds where the member reached a watchtime role (a forget of the member, which
    spans the guilds, brings their roles there up to date)."""
    query = (
        sa.select(role_awards.c.guild_id)
        .where(role_awards.c.discord_user_id == discord_user_id)
        .distinct()
        .order_by(role_awards.c.guild_id)
    )
    return list(conn.execute(query).scalars())


def list_guild_ids_with_tiers(conn: Connection) -> list[int]:
    query = sa.select(role_tiers.c.guild_id).distinct().order_by(role_tiers.c.guild_id)
    return list(conn.execute(query).scalars())


# --- settings ------------------------------------------------------------------------------


def get_settings(conn: Connection, guild_id: int) -> RoleSettings:
    row = conn.execute(sa.select(role_settings).where(role_settings.c.guild_id == guild_id)).first()
    if row is None:
        return RoleSettings()
    return RoleSettings(bool(row.enabled), row.mode, bool(row.dm_on_new_role))


def save_settings(conn: Connection, guild_id: int, settings: RoleSettings) -> None:
    values = {
        "enabled": settings.enabled,
        "mode": settings.mode,
        "dm_on_new_role": settings.dm_on_new_role,
    }
    stmt = insert_for(conn, role_settings).values(guild_id=guild_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[role_settings.c.guild_id], set_=values))


# --- announcements -------------------------------------------------------------------------


def record_awards(
    conn: Connection, guild_id: int, discord_user_id: int, role_ids: Iterable[int], now: datetime
) -> list[int]:
    """Note that the member reached these roles; return the ones never noted before."""
    fresh = []
    for role_id in sorted(role_ids):
        stmt = insert_for(conn, role_awards).values(
            guild_id=guild_id, discord_user_id=discord_user_id, role_id=role_id, awarded_at=now
        )
        inserted = conn.execute(stmt.on_conflict_do_nothing().returning(role_awards.c.role_id))
        if inserted.first() is not None:
            fresh.append(role_id)
    return fresh


# --- reads of links and watchtime ------------------------------------------------------------


def list_linked_seconds(
    conn: Connection, guild_id: int, only_member: int | None = None
) -> dict[int, int]:
    """Watchtime in this guild of every linked Discord user who has some, by Discord user id
    (``only_member`` alone when given): a member linked on Kick and Twitch counts by the
    account with more."""
    found: dict[int, int] = {}
    for platform in Platform:
        links = links_of_platform(platform)
        query = (
            sa.select(links.c.discord_user_id, watchtime.c.seconds)
            .select_from(
                links.join(watchtime, watchtime.c.platform_user_id == links.c.platform_user_id)
            )
            .where(watchtime.c.guild_id == guild_id, watchtime.c.platform == str(platform))
        )
        if only_member is not None:
            query = query.where(links.c.discord_user_id == only_member)
        for row in conn.execute(query):
            found[row.discord_user_id] = max(found.get(row.discord_user_id, 0), int(row.seconds))
    return found
