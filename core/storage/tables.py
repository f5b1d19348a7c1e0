"""Every table, in one MetaData, grouped by the feature that owns it.

Repositories query these; the Alembic migrations create them (a test checks that the two agree).
Feature tables are keyed by ``guild_id``; viewers by ``(platform, platform_user_id)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from core.events import utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which has no time zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Snowflake = BigInteger  # Discord ids fit in a signed 64-bit integer.
UserId = String(64)
PlatformName = String(16)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- guilds: the tenants and the platform channels each one tracks --------------------------

guilds = Table(
    "guilds",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

guild_channels = Table(
    "guild_channels",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "guild_id",
        Snowflake,
        ForeignKey("guilds.guild_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("platform", PlatformName, nullable=False),
    Column("channel_slug", String(100), nullable=False),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Kick's internal ids, needed only by the Pusher socket.
    Column("channel_id", BigInteger, nullable=True),
    Column("chatroom_id", BigInteger, nullable=True),
    UniqueConstraint("guild_id", "platform"),
    Index(None, "platform", "broadcaster_user_id"),
)

# --- viewers: platform identities, shared by every guild -----------------------------------

viewers = Table(
    "viewers",
    metadata,
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- bus and idempotency ---------------------------------------------------------------------

bus_events = Table(
    "bus_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_key", String(255), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("acked_at", UTCDateTime, nullable=True),
    Column("dead_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index(None, "acked_at", "dead_at", "id"),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("consumer", String(64), primary_key=True),
    Column("event_key", String(255), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
    Index(None, "processed_at"),
)

webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "received_at"),
)

# --- watchtime -------------------------------------------------------------------------------

watchtime = Table(
    "watchtime",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("seconds", BigInteger, nullable=False, server_default="0"),
    Column("last_seen", UTCDateTime, nullable=True),
    # No index on seconds, and on PostgreSQL fillfactor 50 (migration 0008; SQLAlchemy cannot
    # declare it): a tick's updates then stay on their pages (HOT).
)

watch_presence = Table(
    "watch_presence",
    metadata,
    Column("guild_id", Snowflake, autoincrement=False),
    Column("platform", PlatformName),
    Column("broadcaster_user_id", UserId),
    Column("platform_user_id", UserId),
    Column("last_active_at", UTCDateTime, nullable=False),
    # The viewer before the broadcaster: ticks look presence up by viewer (migration 0008).
    PrimaryKeyConstraint("guild_id", "platform", "platform_user_id", "broadcaster_user_id"),
    Index(None, "guild_id", "last_active_at"),
)

watch_streams = Table(
    "watch_streams",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("broadcaster_user_id", UserId, primary_key=True),
    Column("is_live", Boolean, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

watch_settings = Table(
    "watch_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("tracking_enabled", Boolean, nullable=False, server_default=sa.true()),
    Column("last_tick_at", UTCDateTime, nullable=True),
)

# --- Kick connections, OAuth and subscriptions ------------------------------------------------

kick_connections = Table(
    "kick_connections",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("kick_username", String(100), nullable=False),
    Column("access_token", Text, nullable=False),  # encrypted
    Column("refresh_token", Text, nullable=True),  # encrypted
    Column("expires_at", UTCDateTime, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("status", String(16), nullable=False),  # "connected" or "needs_reauth"
    Column("connected_by", Snowflake, nullable=False),
    Column("needs_sync", Boolean, nullable=False, server_default=sa.true()),
    Column("updated_at", UTCDateTime, nullable=False),
)

kick_subscriptions = Table(
    "kick_subscriptions",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("event", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "broadcaster_user_id"),
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

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("guild_id", Snowflake, nullable=False),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("code_verifier", Text, nullable=False),  # encrypted
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

account_links = Table(
    "account_links",
    metadata,
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("username", String(100), nullable=False),
    Column("linked_in_guild_id", Snowflake, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("discord_user_id", "platform"),
)

# --- roles: watchtime role tiers, per-guild sync settings, roles already announced ----------

role_tiers = Table(
    "role_tiers",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("role_id", Snowflake, primary_key=True, autoincrement=False),
    Column("minutes", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

role_settings = Table(
    "role_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=False, server_default=sa.true()),
    Column("mode", String(16), nullable=False, server_default="all"),  # "all" or "highest"
    Column("dm_on_new_role", Boolean, nullable=False, server_default=sa.false()),
)

# A member is told about a role once: the row is written before the DM goes out.
role_awards = Table(
    "role_awards",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("discord_user_id", Snowflake, primary_key=True, autoincrement=False),
    Column("role_id", Snowflake, primary_key=True, autoincrement=False),
    Column("awarded_at", UTCDateTime, nullable=False),
)

# --- linking: per-guild link settings, link panels, link history ------------------------------

link_settings = Table(
    "link_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("log_channel_id", Snowflake, nullable=True),  # None: the link log is off
    Column("linked_role_id", Snowflake, nullable=True),  # None: no role for linked members
    Column("updated_at", UTCDateTime, nullable=False),
)

link_panels = Table(
    "link_panels",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("message_id", Snowflake, primary_key=True, autoincrement=False),
    Column("channel_id", Snowflake, nullable=False),
    Column("kind", String(16), nullable=False),  # "reaction" or "button"
    Column("emoji", String(100), nullable=True),  # the reaction panel's emoji
    Column("created_by", Snowflake, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

link_history = Table(
    "link_history",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("action", String(16), nullable=False),  # "linked", "unlinked" or "refused"
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=True),  # unknown when consent was declined
    Column("username", String(100), nullable=True),
    Column("reason", String(32), nullable=True),  # why a link was refused
    Column("actor_id", Snowflake, nullable=True),  # who unlinked (the member or an admin)
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "guild_id", "discord_user_id"),
)

# --- slot calls --------------------------------------------------------------------------------

slot_call_settings = Table(
    "slot_call_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=False, server_default=sa.false()),
    Column("channel_id", Snowflake, nullable=True),  # None: SLOT_CALLS_CHANNEL_ID
    Column("cooldown_seconds", Integer, nullable=False, server_default="30"),
    Column("max_open_per_user", Integer, nullable=True),  # None: no limit
    Column("require_link", Boolean, nullable=False, server_default=sa.false()),
    Column("updated_at", UTCDateTime, nullable=False),
)

slot_calls = Table(
    "slot_calls",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("event_key", String(255), nullable=False),  # the chat message's: one call per message
    Column("platform", PlatformName, nullable=False),
    Column("broadcaster_user_id", UserId, nullable=False),
    Column("platform_user_id", UserId, nullable=False),
    Column("username", String(100), nullable=False),
    Column("discord_user_id", Snowflake, nullable=True),  # the linked member, when there is one
    Column("slot_name", String(200), nullable=False),
    Column("slot_key", String(200), nullable=False),  # casefolded, without spaces
    Column("status", String(16), nullable=False),  # "open", "picked" or "cleared"
    Column("called_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", Snowflake, nullable=True),
    UniqueConstraint("guild_id", "event_key"),
    Index(None, "guild_id", "status", "slot_key"),
    Index(None, "guild_id", "platform", "platform_user_id", "called_at"),
)

slot_call_blacklist = Table(
    "slot_call_blacklist",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=True),  # None: not seen in chat yet
    Column("username", String(100), nullable=False),
    Column("username_key", String(100), nullable=False),  # lowercased
    Column("reason", String(200), nullable=True),
    Column("added_by", Snowflake, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("guild_id", "platform", "username_key"),
)
# --- raffle ----------------------------------------------------------------------------------

raffle_settings = Table(
    "raffle_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("watch_hour_tickets", Integer, nullable=False, server_default="10"),
    Column("gifted_sub_tickets", Integer, nullable=False, server_default="15"),
    Column("wager_thousand_tickets", Integer, nullable=False, server_default="20"),
    Column("gift_hold_minutes", Integer, nullable=False, server_default="0"),
    Column("auto_draw", Boolean, nullable=True),  # None: RAFFLE_AUTO_DRAW
    Column("announcement_channel_id", Snowflake, nullable=True),  # None: the setting
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
    Column("linked_only", Boolean, nullable=False, server_default=sa.true()),
    # Whether a new period opens when one ends (on after !rafflestart, off after !raffleend).
    Column("running", Boolean, nullable=False, server_default=sa.false()),
)

raffle_periods = Table(
    "raffle_periods",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),  # exclusive: the first moment after it
    Column("status", String(16), nullable=False),  # scheduled, open, closed
    Column("seed", String(64), nullable=False),  # secret until the first draw
    Column("commitment", String(64), nullable=False),  # SHA-256 of the seed, published at open
    Column("beacon_round", BigInteger, nullable=True),
    Column("beacon_genesis_time", BigInteger, nullable=True),
    Column("beacon_period_seconds", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("snapshot_hash", String(64), nullable=True),
    Column("eligible", Text, nullable=True),  # JSON list of "platform:user_id", frozen at close
    # Announcements still to post (an outbox: retried until Discord takes them).
    Column("open_announced", Boolean, nullable=False, server_default=sa.false()),
    Column("close_announced", Boolean, nullable=False, server_default=sa.false()),
    Index(None, "guild_id", "status"),
    # At most one period per guild is open or waiting to open.
    Index(
        "uq_raffle_periods_guild_id_current",
        "guild_id",
        unique=True,
        sqlite_where=sa.text("status IN ('scheduled', 'open')"),
        postgresql_where=sa.text("status IN ('scheduled', 'open')"),
    ),
)

raffle_ledger = Table(
    "raffle_ledger",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("period_id", BigInteger, ForeignKey("raffle_periods.id"), nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=False),
    Column("amount", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", String(255), nullable=False),
    Column("actor_id", Snowflake, nullable=True),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("period_id", "source", "source_ref"),
    Index(None, "guild_id", "period_id", "platform", "platform_user_id"),
)

raffle_balances = Table(
    "raffle_balances",
    metadata,
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("tickets", BigInteger, nullable=False),
    Index(None, "guild_id", "period_id", "tickets"),
)

raffle_watch_progress = Table(
    "raffle_watch_progress",
    metadata,
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("baseline_seconds", BigInteger, nullable=False),  # watchtime total when it opened
    Column("hours_awarded", Integer, nullable=False, server_default="0"),
)

raffle_gifts = Table(
    "raffle_gifts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("period_id", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=False),
    Column("gifter_name", String(100), nullable=False),
    Column("giftees", Integer, nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # pending, granted, voided
    Column("received_at", UTCDateTime, nullable=False),
    Column("release_at", UTCDateTime, nullable=False),
    Column("voided_by", Snowflake, nullable=True),
    UniqueConstraint("period_id", "reference"),
    Index(None, "status", "release_at"),
)

raffle_exclusions = Table(
    "raffle_exclusions",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("platform", PlatformName, primary_key=True),
    Column("platform_user_id", UserId, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("excluded_by", Snowflake, nullable=False),
    Column("excluded_at", UTCDateTime, nullable=False),
)

raffle_draws = Table(
    "raffle_draws",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("period_id", BigInteger, ForeignKey("raffle_periods.id"), nullable=False),
    Column("status", String(16), nullable=False),  # waiting (for the beacon), done
    Column("winners_wanted", Integer, nullable=False),
    Column("prize", String(200), nullable=False, server_default=""),
    Column("reroll_of", BigInteger, nullable=True),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("requested_by", Snowflake, nullable=True),  # None: the automatic draw
    Column("requested_at", UTCDateTime, nullable=False),
    Column("forced", Boolean, nullable=False, server_default=sa.false()),
    Column("forced_by", Snowflake, nullable=True),
    Column("beacon_round", BigInteger, nullable=True),
    Column("beacon_randomness", String(128), nullable=True),
    Column("first_counter", Integer, nullable=True),
    Column("drawn_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", String(200), nullable=True),
    Column("announced", Boolean, nullable=False, server_default=sa.false()),
    Index(None, "guild_id", "period_id"),
    Index(None, "status"),
)

raffle_winners = Table(
    "raffle_winners",
    metadata,
    Column("draw_id", BigInteger, ForeignKey("raffle_draws.id"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("platform_user_id", UserId, nullable=False),
    Column("ticket", BigInteger, nullable=False),
    Column("counter", Integer, nullable=False),
)

# --- raffle wagers ---------------------------------------------------------------------------

shuffle_settings = Table(
    "shuffle_settings",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("affiliate_url", Text, nullable=True),  # encrypted: it holds the affiliate's key
    Column("campaign_codes", Text, nullable=False, server_default=""),  # comma-separated
    Column("verified_role_id", Snowflake, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # Polling: a rate limit or a failure backs the guild off until next_poll_at.
    Column("poll_failures", Integer, nullable=False, server_default="0"),
    Column("next_poll_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_problem", String(200), nullable=True),
    Column("last_problem_at", UTCDateTime, nullable=True),
)

shuffle_link_requests = Table(
    "shuffle_link_requests",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("discord_user_id", Snowflake, primary_key=True, autoincrement=False),
    Column("username", String(64), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
)

shuffle_links = Table(
    "shuffle_links",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("account_key", String(64), primary_key=True),  # the Shuffle name, case-folded
    Column("username", String(64), nullable=False),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("verified_by", Snowflake, nullable=False),
    Column("verified_at", UTCDateTime, nullable=False),
    UniqueConstraint("guild_id", "discord_user_id"),
)

# The last lifetime total seen for every account under the guild's codes.
shuffle_wager_totals = Table(
    "shuffle_wager_totals",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("account_key", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# When each period's baseline was taken (its first successful poll).
shuffle_wager_periods = Table(
    "shuffle_wager_periods",
    metadata,
    Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    Column("baseline_at", UTCDateTime, nullable=False),
)

shuffle_wager_progress = Table(
    "shuffle_wager_progress",
    metadata,
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    Column("account_key", String(64), primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("baseline_cents", BigInteger, nullable=False),
    Column("tickets_given", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
)
