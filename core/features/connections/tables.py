"""A streamer's Kick and Twitch connections: tokens, subscriptions, webhook arrivals, OAuth."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from core.storage.columns import guild_key
from core.storage.schema import (
    ENCRYPTED,
    PlatformName,
    Snowflake,
    UserId,
    UTCDateTime,
    metadata,
)


def _streamer_grant(username_column: str) -> tuple[Column[Any], ...]:
    """A connection's first columns, alike on every platform (``connection_rows.py`` reads and
    writes them): the guild, the streamer's account and name, their tokens and the grant."""
    return (
        guild_key(),
        Column("broadcaster_user_id", UserId, nullable=False),
        Column(username_column, String(100), nullable=False),
        Column("access_token", Text, nullable=False, info={ENCRYPTED: True}),
        Column("refresh_token", Text, nullable=True, info={ENCRYPTED: True}),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("scopes", Text, nullable=False),  # space-separated
    )


kick_connections = Table(
    "kick_connections",
    metadata,
    *_streamer_grant("kick_username"),
    Column("status", String(16), nullable=False),  # "connected" or "needs_reauth"
    Column("connected_by", Snowflake, nullable=False),
    Column("needs_sync", Boolean, nullable=False, server_default=sa.true()),
    Column("updated_at", UTCDateTime, nullable=False),
    info={"username_column": "kick_username"},
)


def _webhook_subscriptions(name: str, *platform_columns: Column[Any]) -> Table:
    """The webhook subscriptions the upkeep made for a broadcaster, by the platform's id, with
    what each delivers (the platform's own columns) and when it was made."""
    return Table(
        name,
        metadata,
        Column("subscription_id", String(64), primary_key=True),
        Column("broadcaster_user_id", UserId, nullable=False),
        *platform_columns,
        Column("created_at", UTCDateTime, nullable=False),
        Index(None, "broadcaster_user_id"),
    )


kick_subscriptions = _webhook_subscriptions(
    "kick_subscriptions",
    Column("event", String(64), nullable=False),
    Column("version", Integer, nullable=False),
)

# When a webhook of each type last arrived for a broadcaster (written at most once a minute per
# row): Pusher publishes what webhooks are not delivering (core/platforms/kick/sources.py).
webhook_arrivals = Table(
    "webhook_arrivals",
    metadata,
    Column("broadcaster_user_id", UserId, primary_key=True),
    Column("event_type", String(64), primary_key=True),
    Column("arrived_at", UTCDateTime, nullable=False),
)

# When an event of each kind was last handled for a broadcaster, by any bot process (written
# at most once a minute per row and process): the overview's and !kick status's "last event"
# lines, true in a web process that handles none (core/features/connections/event_arrivals.py).
event_arrivals = Table(
    "event_arrivals",
    metadata,
    Column("platform", PlatformName, primary_key=True),
    Column("broadcaster_user_id", UserId, primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("arrived_at", UTCDateTime, nullable=False),
)

# Kick's webhook public key as the bot last fetched it from Kick (one row, name "webhook"):
# every web process checks signatures with it too (core/platforms/kick/webhook_keys.py).
# fetched_at: the last fetch that returned this key; changed_at: the first one; asked_at: when a
# web process last found a delivery no key verified (the bot fetches again soon after).
kick_public_keys = Table(
    "kick_public_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("pem", Text, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("asked_at", UTCDateTime, nullable=True),
)


oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("guild_id", Snowflake, nullable=False),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("code_verifier", Text, nullable=False, info={ENCRYPTED: True}),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    # SHA-256 (hex) of the browser-binding cookie set when the flow started; the callback
    # must present the cookie. Null only for states made before the binding existed.
    Column("browser_hash", String(64), nullable=True),
    Index(None, "expires_at"),
)

# Signed start links that have started a flow: a link works once. Rows outlive the link's
# own expiry only until the next use prunes them (an expired link is refused by its signature).
used_links = Table(
    "used_links",
    metadata,
    Column("link_id", String(43), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("guild_id", Snowflake, nullable=False),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("used_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)


# EventSub subscriptions Twitch stopped (and why), for !twitch status; one row per subscription.
twitch_revocations = Table(
    "twitch_revocations",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("subscription_type", String(100), nullable=False),
    Column("status", String(64), nullable=False),
    Column("broadcaster_user_id", UserId, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=False),
    Index(None, "broadcaster_user_id"),
)


# A guild's Twitch connection: the streamer's tokens (encrypted), what they granted, whether the
# grant still works ("connected" or "needs_reauth") and the scopes the last validation lacked.
twitch_connections = Table(
    "twitch_connections",
    metadata,
    *_streamer_grant("login"),  # scopes: as last granted or validated
    Column("missing_scopes", Text, nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("connected_by", Snowflake, nullable=False),
    Column("needs_sync", Boolean, nullable=False, server_default=sa.true()),
    Column("validated_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    info={"username_column": "login"},
)


# The EventSub webhook subscriptions the upkeep made for a broadcaster, for !twitch status.
twitch_subscriptions = _webhook_subscriptions(
    "twitch_subscriptions",
    Column("subscription_type", String(100), nullable=False),
    Column("status", String(64), nullable=False),
)
