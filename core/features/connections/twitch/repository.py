"""A guild's Twitch connection (encrypted tokens, scopes, state) and the EventSub subscriptions
the upkeep made for its broadcaster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.connections import subscription_rows
from core.features.connections.connection_rows import CONNECTED, NEEDS_REAUTH
from core.features.connections.tables import twitch_connections, twitch_subscriptions


def record_validation(
    conn: Connection,
    guild_id: int,
    *,
    scopes: tuple[str, ...],
    missing_scopes: tuple[str, ...],
    now: datetime,
) -> None:
    conn.execute(
        sa.update(twitch_connections)
        .where(twitch_connections.c.guild_id == guild_id)
        .values(
            scopes=" ".join(scopes),
            missing_scopes=" ".join(missing_scopes),
            validated_at=now,
            updated_at=now,
        )
    )


def other_guilds_connected_as(
    conn: Connection, broadcaster_user_id: str, guild_id: int
) -> list[int]:
    """The guilds besides ``guild_id`` connected as ``broadcaster_user_id`` (a streamer with
    two servers), their grant working or waiting for a new consent: the channel's subscriptions
    serve them too, and the upkeep keeps them for both (``broadcasters_with_a_connection``)."""
    c = twitch_connections.c
    query = sa.select(c.guild_id).where(
        c.broadcaster_user_id == broadcaster_user_id, c.guild_id != guild_id
    )
    return list(conn.execute(query.order_by(c.guild_id)).scalars())


def broadcasters_with_a_connection(conn: Connection) -> set[str]:
    """Every broadcaster some guild is connected as, its grant working or waiting for a new
    consent (its stream and raid events still come, and that consent syncs again)."""
    c = twitch_connections.c
    return set(conn.execute(sa.select(c.broadcaster_user_id).distinct()).scalars())


def mark_broadcaster_needs_reauth(
    conn: Connection, broadcaster_user_id: str, now: datetime
) -> list[int]:
    """Every guild connected as ``broadcaster_user_id`` needs a new consent; their ids."""
    c = twitch_connections.c
    guild_ids = list(
        conn.execute(
            sa.select(c.guild_id).where(
                c.broadcaster_user_id == broadcaster_user_id, c.status == CONNECTED
            )
        ).scalars()
    )
    if guild_ids:
        conn.execute(
            sa.update(twitch_connections)
            .where(c.guild_id.in_(guild_ids))
            .values(status=NEEDS_REAUTH, updated_at=now)
        )
    return guild_ids


# --- EventSub subscriptions ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredTwitchSubscription:
    subscription_id: str
    broadcaster_user_id: str
    subscription_type: str
    status: str


def replace_subscriptions(
    conn: Connection,
    broadcaster_user_id: str,
    subscriptions: list[StoredTwitchSubscription],
    now: datetime,
) -> None:
    subscription_rows.replace(conn, twitch_subscriptions, broadcaster_user_id, subscriptions, now)


def list_subscriptions_for_broadcaster(
    conn: Connection, broadcaster_user_id: str
) -> list[StoredTwitchSubscription]:
    return subscription_rows.list_of_broadcaster(
        conn,
        twitch_subscriptions,
        StoredTwitchSubscription,
        broadcaster_user_id,
        order_by=["subscription_type", "subscription_id"],
    )
