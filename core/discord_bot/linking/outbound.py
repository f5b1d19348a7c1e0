"""Linking's Discord effects: DM the member, give or take the linked role, post to the link log.

A refusal from Discord (closed DMs, a role above the bot's, a missing permission, the log's
channel gone) is reported and logged, never raised: the call would only be made again to the
same refusal. While the bot is configured but not connected, :class:`DiscordUnavailable`
propagates so the Discord worker makes the call again later. The DM and the log post carry a
nonce of the attempt, so a step made again after a worker was killed mid-way is one message on
Discord all the same.
"""

from __future__ import annotations

import logging

import discord

from core.discord_bot.channel_posts import post_nonce
from core.discord_bot.common import closed_thread, needed_here
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.linking import render as render_linking
from core.discord_bot.render import NO_MENTIONS
from core.features.linking.ports import LinkNotice, RoleChange

log = logging.getLogger(__name__)


class DiscordLinks:
    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    def _client(self, guild_id: int, what: str) -> discord.Client | None:
        client = self.gateway.client_for(guild_id)
        if client is None:
            log.info("guild %s: Discord is off; not %s", guild_id, what)
        return client

    async def tell_member(self, notice: LinkNotice) -> bool:
        client = self._client(notice.guild_id, "telling a member how their link went")
        if client is None:
            return False
        try:
            user = client.get_user(notice.discord_user_id) or await client.fetch_user(
                notice.discord_user_id
            )
            text = render_linking.member_notice(notice)
            nonce = _nonce("link dm", notice)
            await user.send(text, allowed_mentions=NO_MENTIONS, nonce=nonce)
        except (discord.Forbidden, discord.NotFound):
            log.info(
                "guild %s: could not DM member %s how their link went (DMs closed)",
                notice.guild_id,
                notice.discord_user_id,
            )
            return False
        return True

    async def set_linked_role(
        self, guild_id: int, discord_user_id: int, role_id: int, *, present: bool
    ) -> RoleChange:
        client = self._client(guild_id, "changing the linked role")
        if client is None:
            return RoleChange(role_id, False, "Discord is off")
        guild = client.get_guild(guild_id)
        role = guild.get_role(role_id) if guild else None
        if guild is None or role is None:
            return RoleChange(role_id, False, "the role no longer exists")
        member = guild.get_member(discord_user_id)
        if member is None:
            return RoleChange(
                role_id, False, "they are not a member of this server", for_admin=False
            )
        if (role in member.roles) == present:
            return RoleChange(role_id, True)
        problem = role_problem(role)
        if problem is not None:
            log.warning("guild %s: cannot change linked role %s: %s", guild_id, role_id, problem)
            return RoleChange(role_id, False, problem)
        try:
            if present:
                await member.add_roles(role, reason="Linked a Kick or Twitch account")
            else:
                await member.remove_roles(role, reason="Unlinked their Kick or Twitch account")
        except discord.Forbidden:
            log.warning("guild %s: Discord refused to change the linked role %s", guild_id, role_id)
            return RoleChange(role_id, False, "Discord refused: check my Manage Roles permission")
        return RoleChange(role_id, True)

    async def post_log(
        self, channel_id: int, notice: LinkNotice, role: RoleChange | None
    ) -> str | None:
        """Post the entry; why it was not, in words for the admins (None: posted)."""
        client = self._client(notice.guild_id, "writing the link log")
        if client is None:
            return "Discord is off"
        guild = client.get_guild(notice.guild_id)
        # Looked up in the guild itself: a log never lands in another guild's channel.
        channel = guild.get_channel_or_thread(channel_id) if guild else None
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            log.warning(
                "guild %s: the link log channel %s is gone; turn the log on again with "
                "!linklogs on",
                notice.guild_id,
                channel_id,
            )
            return (
                f"its channel ({channel_id}) is gone, no text channel, or an archived thread; "
                "turn the log on again in a channel with !linklogs on"
            )
        try:
            embed = render_linking.log_embed(notice, role)
            nonce = _nonce("link log", notice)
            await channel.send(embed=embed, allowed_mentions=NO_MENTIONS, nonce=nonce)
        except discord.HTTPException as exc:
            state = closed_thread(exc)
            if state is not None:
                log.warning(
                    "guild %s: the link log thread %s is %s", notice.guild_id, channel_id, state
                )
                article = "a" if state.startswith("locked") else "an"
                return (
                    f"#{channel.name} is {article} {state} thread; open it again, or turn the "
                    "log on in another channel with !linklogs on"
                )
            if not isinstance(exc, discord.Forbidden):
                raise
            log.warning(
                "guild %s: cannot post in the link log channel %s (missing permission)",
                notice.guild_id,
                channel_id,
            )
            return f"I may not post in #{channel.name}; give me {needed_here(channel)} there"
        return None


def _nonce(what: str, notice: LinkNotice) -> str:
    """The nonce of ``what`` about one attempt: its member, outcome, account and moment."""
    return post_nonce(
        what,
        notice.guild_id,
        notice.discord_user_id,
        notice.outcome,
        notice.platform,
        notice.platform_user_id,
        notice.at.isoformat(),
    )


def role_problem(role: discord.Role) -> str | None:
    """Why the bot cannot give ``role``, in words an admin can act on; None when it can."""
    me = role.guild.me
    if role.is_default() or role.managed:
        return "that role is managed by Discord or an integration"
    if not me.guild_permissions.manage_roles:
        return "I need the Manage Roles permission"
    if not role.is_assignable():
        return "it is above my highest role; move my role above it in Server Settings > Roles"
    return None
