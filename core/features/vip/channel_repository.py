"""Temporary VIP SQL of one Twitch channel several Discord servers follow: one channel has one
VIP badge, so a VIP one server granted is that server's in every other (not an outside VIP
there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.live.changes import touch
from core.features.vip.repository import OUTSIDE
from core.features.vip.tables import vip_grants


@dataclass(frozen=True)
class HeldElsewhere:
    """A Twitch VIP another server's grant holds: this server learns only when it ends."""

    expires_at: datetime | None


def held_elsewhere(
    conn: Connection,
    guild_id: int,
    broadcaster_user_id: str,
    *,
    platform_user_id: str | None = None,
    username: str | None = None,
) -> HeldElsewhere | None:
    """Whether a server other than ``guild_id`` holds an open grant of its own (not an outside
    VIP) of this viewer (by id, else by name) on this Twitch channel, and until when (the
    latest end; None: no end). One channel has one VIP badge, so that VIP is that server's."""
    g = vip_grants.c
    if platform_user_id is not None:
        viewer = g.platform_user_id == platform_user_id
    elif username is not None:
        viewer = sa.func.lower(g.username) == username.lower()
    else:
        raise ValueError("a viewer's id or name")
    query = (
        sa.select(g.expires_at)
        .where(
            g.guild_id != guild_id,
            g.platform == Platform.TWITCH.value,
            g.broadcaster_user_id == broadcaster_user_id,
            viewer,
            g.removed_at.is_(None),
            g.source != OUTSIDE,
        )
        .order_by(g.expires_at.desc().nulls_first())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else HeldElsewhere(row.expires_at)


def close_outside_elsewhere(
    conn: Connection,
    guild_id: int,
    broadcaster_user_id: str,
    platform_user_id: str,
    at: datetime,
    reason: str,
) -> list[int]:
    """Close the open outside VIPs of this viewer on this Twitch channel in every server but
    ``guild_id``: the guilds whose row was closed."""
    g = vip_grants.c
    closed = conn.execute(
        vip_grants.update()
        .where(
            g.guild_id != guild_id,
            g.platform == Platform.TWITCH.value,
            g.broadcaster_user_id == broadcaster_user_id,
            g.platform_user_id == platform_user_id,
            g.removed_at.is_(None),
            g.source == OUTSIDE,
        )
        .values(removed_at=at, removal_reason=reason[:200])
        .returning(g.guild_id)
    )
    guild_ids = sorted({int(row.guild_id) for row in closed})
    for other in guild_ids:
        touch(conn, other, "vip")  # their dashboard's VIP list hears of it
    return guild_ids
