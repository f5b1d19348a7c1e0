"""Twitch EventSub subscriptions Twitch revoked: recorded by the webhook receiver, listed per
broadcaster for ``!twitch status``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.connections.tables import twitch_revocations
from core.storage.db import insert_if_absent


@dataclass(frozen=True)
class StoredRevocation:
    subscription_id: str
    subscription_type: str
    status: str  # why: authorization_revoked, user_removed, notification_failures_exceeded, ...
    broadcaster_user_id: str | None
    revoked_at: datetime


def record_revocation(conn: Connection, revocation: StoredRevocation) -> bool:
    """Keep the revocation; False when this subscription's revocation was already kept (Twitch
    retries a delivery it thinks failed: the first one stands)."""
    return insert_if_absent(
        conn,
        twitch_revocations,
        {
            "subscription_id": revocation.subscription_id,
            "subscription_type": revocation.subscription_type,
            "status": revocation.status,
            "broadcaster_user_id": revocation.broadcaster_user_id,
            "revoked_at": revocation.revoked_at,
        },
    )


def list_revocations_of_broadcaster(
    conn: Connection, broadcaster_user_id: str
) -> list[StoredRevocation]:
    """The broadcaster's revoked subscriptions, the latest first."""
    query = (
        sa.select(twitch_revocations)
        .where(twitch_revocations.c.broadcaster_user_id == broadcaster_user_id)
        .order_by(twitch_revocations.c.revoked_at.desc(), twitch_revocations.c.subscription_id)
    )
    return [
        StoredRevocation(
            subscription_id=row.subscription_id,
            subscription_type=row.subscription_type,
            status=row.status,
            broadcaster_user_id=row.broadcaster_user_id,
            revoked_at=row.revoked_at,
        )
        for row in conn.execute(query)
    ]
