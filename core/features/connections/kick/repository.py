"""A guild's Kick connection (encrypted tokens per guild), its webhook subscriptions, when
webhooks of each type last arrived and Kick's webhook key as last fetched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.connections import subscription_rows
from core.features.connections.tables import (
    kick_public_keys,
    kick_subscriptions,
    webhook_arrivals,
)
from core.storage.db import insert_for

# --- webhook subscriptions -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSubscription:
    subscription_id: str
    broadcaster_user_id: str
    event: str
    version: int


def replace_subscriptions(
    conn: Connection,
    broadcaster_user_id: str,
    subscriptions: list[StoredSubscription],
    now: datetime,
) -> None:
    subscription_rows.replace(conn, kick_subscriptions, broadcaster_user_id, subscriptions, now)


def list_subscriptions_for_broadcaster(
    conn: Connection, broadcaster_user_id: str
) -> list[StoredSubscription]:
    return subscription_rows.list_of_broadcaster(
        conn, kick_subscriptions, StoredSubscription, broadcaster_user_id, order_by=["event"]
    )


def find_broadcaster_by_subscription(conn: Connection, subscription_id: str) -> str | None:
    query = sa.select(kick_subscriptions.c.broadcaster_user_id).where(
        kick_subscriptions.c.subscription_id == subscription_id
    )
    return conn.execute(query).scalar_one_or_none()


def list_subscribed_types(conn: Connection) -> list[tuple[str, str]]:
    """Every stored (broadcaster, webhook type) subscription."""
    query = sa.select(kick_subscriptions.c.broadcaster_user_id, kick_subscriptions.c.event)
    return [(row.broadcaster_user_id, row.event) for row in conn.execute(query.distinct())]


# --- webhook arrivals --------------------------------------------------------------------------


def save_arrival(
    conn: Connection, broadcaster_user_id: str, event_type: str, arrived_at: datetime
) -> None:
    """Note that a webhook of ``event_type`` arrived for the broadcaster (never moving back)."""
    a = webhook_arrivals.c
    stmt = insert_for(conn, webhook_arrivals).values(
        broadcaster_user_id=broadcaster_user_id, event_type=event_type, arrived_at=arrived_at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[a.broadcaster_user_id, a.event_type],
            set_={"arrived_at": stmt.excluded.arrived_at},
            where=a.arrived_at < stmt.excluded.arrived_at,
        )
    )


def list_arrivals_since(
    conn: Connection, since: datetime, broadcaster_user_id: str | None = None
) -> dict[tuple[str, str], datetime]:
    """The arrivals after ``since``: every broadcaster's, or one's."""
    a = webhook_arrivals.c
    query = sa.select(webhook_arrivals).where(a.arrived_at > since)
    if broadcaster_user_id is not None:
        query = query.where(a.broadcaster_user_id == broadcaster_user_id)
    rows = conn.execute(query)
    return {(row.broadcaster_user_id, row.event_type): row.arrived_at for row in rows}


# --- Kick's webhook public key, as fetched ------------------------------------------------------

WEBHOOK_KEY = "webhook"


@dataclass(frozen=True)
class StoredPublicKey:
    pem: str
    fetched_at: datetime  # the last fetch that returned it
    changed_at: datetime  # the first
    asked_at: datetime | None = None  # a web process found a delivery no key verified

    @property
    def is_asked_for(self) -> bool:
        """Whether a web process asked for the key since it was last fetched."""
        return self.asked_at is not None and self.asked_at > self.fetched_at


def save_public_key(conn: Connection, pem: str, fetched_at: datetime) -> bool:
    """Store the key a fetch returned; whether it differs from the one stored before. A fetch
    older than the stored one (two processes fetching at once) changes nothing."""
    k = kick_public_keys.c
    before = conn.execute(
        sa.select(k.pem).where(k.name == WEBHOOK_KEY).with_for_update()
    ).scalar_one_or_none()
    stmt = insert_for(conn, kick_public_keys).values(
        name=WEBHOOK_KEY, pem=pem, fetched_at=fetched_at, changed_at=fetched_at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[k.name],
            set_={
                "pem": stmt.excluded.pem,
                "fetched_at": stmt.excluded.fetched_at,
                "changed_at": sa.case(
                    (k.pem == stmt.excluded.pem, k.changed_at), else_=stmt.excluded.changed_at
                ),
            },
            where=k.fetched_at <= stmt.excluded.fetched_at,
        )
    )
    return before != pem


def ask_for_public_key(conn: Connection, now: datetime) -> None:
    """Note that a delivery came that no key verified, unless that is noted already since the
    last fetch (nothing to note before a first fetch: the bot fetches at its start)."""
    k = kick_public_keys.c
    conn.execute(
        sa.update(kick_public_keys)
        .where(k.name == WEBHOOK_KEY, sa.or_(k.asked_at.is_(None), k.asked_at <= k.fetched_at))
        .values(asked_at=now)
    )


def find_public_key(conn: Connection) -> StoredPublicKey | None:
    k = kick_public_keys.c
    row = conn.execute(
        sa.select(k.pem, k.fetched_at, k.changed_at, k.asked_at).where(k.name == WEBHOOK_KEY)
    ).first()
    if row is None:
        return None
    return StoredPublicKey(row.pem, row.fetched_at, row.changed_at, row.asked_at)
