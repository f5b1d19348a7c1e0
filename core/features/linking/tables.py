"""Account links, their settings, panels and history."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    String,
    Table,
    UniqueConstraint,
    func,
)

from core.storage.columns import guild_key, viewer_key
from core.storage.schema import BigId, PlatformName, Snowflake, UserId, UTCDateTime, metadata

account_links = Table(
    "account_links",
    metadata,
    *viewer_key(),
    Column("discord_user_id", Snowflake, nullable=False),
    Column("username", String(100), nullable=False),
    Column("linked_in_guild_id", Snowflake, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("discord_user_id", "platform"),
)

# The links of an account by the name it was linked under, in any case (``!linkowner``).
Index(
    "ix_account_links_platform_lower_username",
    account_links.c.platform,
    func.lower(account_links.c.username),
)


link_settings = Table(
    "link_settings",
    metadata,
    guild_key(),
    Column("log_channel_id", Snowflake, nullable=True),  # None: the link log is off
    Column("linked_role_id", Snowflake, nullable=True),  # None: no role for linked members
    Column("updated_at", UTCDateTime, nullable=False),
)


link_panels = Table(
    "link_panels",
    metadata,
    guild_key(),
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
    Index(None, "discord_user_id"),  # a member's history everywhere (/me)
)
