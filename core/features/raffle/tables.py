"""The raffle: settings, periods, the ticket ledger and balances, gifts, draws; Shuffle wagers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from core.storage.columns import guild_key, viewer_columns, viewer_key
from core.storage.schema import ENCRYPTED, BigId, Snowflake, UTCDateTime, keep_pages_free, metadata

raffle_settings = Table(
    "raffle_settings",
    metadata,
    guild_key(),
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
    # The drand chain the round comes from (docs/raffle.md, "Pinned chains"): its hash, scheme
    # id and public key (hex); None on periods fixed before signatures were checked.
    Column("beacon_chain_hash", String(64), nullable=True),
    Column("beacon_scheme", String(64), nullable=True),
    Column("beacon_public_key", String(192), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("snapshot_hash", String(64), nullable=True),
    # The snapshot version the close froze the ledger in (fairness.SNAPSHOT_VERSIONS): 2 names
    # admins by pseudonyms; periods closed before migration 0036 are 1 (Discord ids).
    Column("snapshot_version", Integer, nullable=False, server_default="1"),
    # Version 2: the period's pseudonym key (hex), derived from the deployment's secret at the
    # close and kept, so the export names the admins alike after the secret changes. Never
    # published (whoever reads it reads raffle_ledger.actor_id as well).
    Column("actor_key", String(64), nullable=True),
    Column("eligible", Text, nullable=True),  # JSON list of "platform:user_id", frozen at close
    # Announcements still to post (an outbox: retried until Discord takes them).
    Column("open_announced", Boolean, nullable=False, server_default=sa.false()),
    Column("close_announced", Boolean, nullable=False, server_default=sa.false()),
    # Closed with an automatic draw still to request (set by the close, cleared by the request).
    Column("draw_due", Boolean, nullable=False, server_default=sa.false()),
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
    # No foreign key: every writer reads the period row while it is open
    # (FOR KEY SHARE on PostgreSQL) and periods are never deleted; the check cost a trigger
    # call per row.
    Column("period_id", BigInteger, nullable=False),
    *viewer_columns(),
    Column("amount", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", String(255), nullable=False),
    Column("actor_id", Snowflake, nullable=True),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("period_id", "source", "source_ref"),
    Index(None, "guild_id", "period_id", "platform", "platform_user_id"),
)


# Updated at every conversion: tickets are not indexed, so an update touches no index and,
# with a fifth of each page free, stays on its page (HOT); the leaderboard reads one period
# through the key.
raffle_balances = Table(
    "raffle_balances",
    metadata,
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    *viewer_key(),
    Column("guild_id", Snowflake, nullable=False),
    Column("tickets", BigInteger, nullable=False),
    Index(None, "platform", "platform_user_id"),  # a viewer's balances everywhere (/me)
)
keep_pages_free(raffle_balances, fillfactor=80)


# Written by the close: per eligible participant, the end (exclusive) of its ticket range in
# the canonical order (docs/raffle.md), so a draw seeks each winner's range by ``range_end``
# and finds the ranges of the period's earlier winners by participant.
raffle_frozen_ranges = Table(
    "raffle_frozen_ranges",
    metadata,
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    Column("range_end", BigInteger, primary_key=True, autoincrement=False),
    Column("guild_id", Snowflake, nullable=False),
    *viewer_columns(),
    Column("tickets", BigInteger, nullable=False),
    # A draw finds the ranges of the period's earlier winners by who they are.
    Index(None, "period_id", "platform", "platform_user_id", unique=True),
)


raffle_watch_progress = Table(
    "raffle_watch_progress",
    metadata,
    Column("period_id", BigInteger, primary_key=True, autoincrement=False),
    *viewer_key(),
    Column("guild_id", Snowflake, nullable=False),
    Column("baseline_seconds", BigInteger, nullable=False),  # watchtime total when it opened
    Column("hours_awarded", Integer, nullable=False, server_default="0"),
)
keep_pages_free(raffle_watch_progress, fillfactor=80)  # updated at every conversion too


raffle_gifts = Table(
    "raffle_gifts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("period_id", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False),
    *viewer_columns(),
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
    guild_key(),
    *viewer_key(),
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
    # The round's BLS signature (hex; randomness = SHA-256 of it) and, on a chained scheme, the
    # previous round's; checked before the draw used the round.
    Column("beacon_signature", String(192), nullable=True),
    Column("beacon_previous_signature", String(192), nullable=True),
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
    *viewer_columns(),
    Column("ticket", BigInteger, nullable=False),
    Column("counter", Integer, nullable=False),
)

# --- raffle wagers ---------------------------------------------------------------------------


shuffle_settings = Table(
    "shuffle_settings",
    metadata,
    guild_key(),
    # Encrypted: it holds the affiliate's key.
    Column("affiliate_url", Text, nullable=True, info={ENCRYPTED: True}),
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
    guild_key(),
    Column("discord_user_id", Snowflake, primary_key=True, autoincrement=False),
    Column("username", String(64), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
)


shuffle_links = Table(
    "shuffle_links",
    metadata,
    guild_key(),
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
    guild_key(),
    Column("account_key", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# When each period's baseline was taken (its first successful poll).
shuffle_wager_periods = Table(
    "shuffle_wager_periods",
    metadata,
    guild_key(),
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
