"""Temporary VIP tables: settings, the rules that grant it, grants, processed redemptions and the
audit log."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Boolean, Column, Index, Integer, String, Table

from core.storage.columns import chat_viewer_columns, guild_key
from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

vip_settings = Table(
    "vip_settings",
    metadata,
    guild_key(),
    Column("reward_id", String(64), nullable=True),  # None: no reward set up
    Column("reward_title", String(200), nullable=True),
    Column("reward_cost", Integer, nullable=True),
    # The reward's limits as last sent to Twitch; None: no such limit (prompt: the default).
    Column("reward_prompt", String(200), nullable=True),
    Column("reward_max_per_stream", Integer, nullable=True),
    Column("reward_max_per_user_per_stream", Integer, nullable=True),
    Column("reward_cooldown_seconds", Integer, nullable=True),
    Column("duration_hours", Integer, nullable=False, server_default="24"),
    Column("is_stacking", Boolean, nullable=False, server_default=sa.true()),
    Column("max_hours", Integer, nullable=False, server_default="168"),  # the stacking cap
    Column("max_concurrent", Integer, nullable=True),  # None: only Twitch's slots limit
    Column("is_chat_notices", Boolean, nullable=False, server_default=sa.true()),
    Column("is_auto_removal", Boolean, nullable=False, server_default=sa.true()),
    Column("notice_channel_id", Snowflake, nullable=True),
    # Kick has no VIP: its reward (matched by title) gives a linked viewer this Discord role.
    Column("kick_reward_title", String(200), nullable=True),
    Column("kick_role_id", Snowflake, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per VIP stint: open while removed_at is None. source: "redemption", "manual" (a
# Discord admin) or "outside" (granted elsewhere: never removed by StreamKeeper).
vip_grants = Table(
    "vip_grants",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    *chat_viewer_columns(),
    Column("source", String(16), nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # None: no expiry (outside VIPs)
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removal_reason", String(200), nullable=True),
    Column("last_error", String(200), nullable=True),  # the last transient removal failure
    Column("removal_tried_at", UTCDateTime, nullable=True),  # when that failure happened
    # tries at removing it that failed in a row (the next waits longer: removal_calls.py)
    Column("removal_failures", Integer, nullable=False, server_default="0"),
    Column("discord_user_id", Snowflake, nullable=True),  # Kick grants: the linked member
    Column("role_id", Snowflake, nullable=True),  # Kick grants: the temporary role
    Index(None, "guild_id", "removed_at", "expires_at"),
    Index(None, "guild_id", "platform", "platform_user_id", "removed_at"),
    # A viewer's grants on one channel in every server (channel_repository.held_elsewhere).
    Index(None, "platform", "broadcaster_user_id", "platform_user_id"),
)

# A redemption is handled once: its row is written before Twitch is asked (state "adding",
# leased to the delivery that asks), and moves on in the same transaction as the grant or the
# refusal.
vip_redemptions = Table(
    "vip_redemptions",
    metadata,
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("redemption_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("outcome", String(200), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    # While "adding": the delivery asking Twitch holds it until then, or until the process
    # named in leased_by dies (core/ownership/claims.py); another waits.
    Column("leased_until", UTCDateTime, nullable=True),
    Column("leased_by", String(64), nullable=True),
    # A refund's chat line not said (the connection needed re-authorization): said, and
    # cleared, when the streamer connects again.
    Column("untold_notice", String(500), nullable=True),
    # A Twitch redemption that waited for the streamer: its reward and viewer, so that one whose
    # reward was deleted on Twitch meanwhile is closed as refused, with its audit row.
    Column("reward_id", String(64), nullable=True),
    Column("platform_user_id", UserId, nullable=True),
    Column("username", String(100), nullable=True),
    sa.PrimaryKeyConstraint("guild_id", "platform", "redemption_id"),
)

vip_audit = Table(
    "vip_audit",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    *chat_viewer_columns(),
    Column("action", String(16), nullable=False),  # granted, extended, removed, refused, ...
    Column("actor_kind", String(16), nullable=False),  # viewer, discord or system
    Column("actor_id", String(64), nullable=True),
    Column("reason", String(200), nullable=True),
    Column("redemption_id", String(64), nullable=True),
    Column("reward_cost", Integer, nullable=True),
    Column("previous_expires_at", UTCDateTime, nullable=True),
    Column("new_expires_at", UTCDateTime, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    # The rule that granted (or refused) it: vip_rules.id, kept after the rule is removed.
    Column("rule_id", BigId, nullable=True),
    Index(None, "guild_id", "at"),
    Index(None, "guild_id", "platform_user_id"),
)

# What earns temporary VIP in a guild, on one platform, for ``hours``: a channel-point reward
# (Twitch: ``reward_id``; Kick: matched by ``reward_title``), a subscription of at least tier
# ``at_least`` (new or renewed), a gift of at least ``at_least`` subs, a cheer of at least
# ``at_least`` bits, KICKs of at least ``at_least``.
vip_rules = Table(
    "vip_rules",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("guild_id", Snowflake, nullable=False),
    Column("platform", PlatformName, nullable=False),
    Column("kind", String(8), nullable=False),  # reward, sub, gift, bits or kicks
    Column("reward_id", String(64), nullable=True),
    Column("reward_title", String(200), nullable=True),
    Column("reward_cost", Integer, nullable=True),
    Column("at_least", Integer, nullable=True),
    Column("hours", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A Twitch reward rule whose reward was deleted on twitch.tv (Helix answered 404 for it):
    # when that was noticed. Its reward is no longer asked of Twitch; None: fine, or not known.
    Column("reward_gone_at", UTCDateTime, nullable=True),
    Index(None, "guild_id", "platform", "kind"),
)

# A Twitch VIP reward that ``!twitch disconnect`` paused on Twitch (paused_rewards.py): it is
# resumed when the streamer connects the server again, and only it (one the streamer paused
# themselves has no row, and stays paused). The row is written before Twitch is asked.
vip_paused_rewards = Table(
    "vip_paused_rewards",
    metadata,
    Column("guild_id", Snowflake, nullable=False),
    Column("reward_id", String(64), nullable=False),
    Column("broadcaster_user_id", UserId, nullable=False),  # the channel it is on
    Column("reward_title", String(200), nullable=True),
    Column("paused_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("guild_id", "reward_id"),
)
