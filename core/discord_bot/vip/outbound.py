"""Temporary VIP on Discord: notices in a guild's channel (VipNotices) and Kick's temporary
role (TemporaryRoles)."""

from __future__ import annotations

import discord

from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.render import MESSAGE_LIMIT, inert, truncate
from core.features.vip.ports import RoleRefused


class DiscordVipNotices(ChannelPoster):
    kind = "VIP notice"
    fix = "set one with !vip set channel"

    async def post_notice(self, guild_id: int, channel_id: int, text: str) -> str | None:
        channel = self.lookup(guild_id, channel_id, f"VIP notice for guild {guild_id}")
        if isinstance(channel, str):
            return channel
        return await self.send(channel, truncate(inert(text), MESSAGE_LIMIT))


class DiscordTemporaryRoles:
    """Kick's temporary VIP: the guild's role on the redeemer's linked member."""

    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    def _guild(self, guild_id: int) -> discord.Guild:
        client = self.gateway.client_for(guild_id)  # DiscordUnavailable: not connected, outage
        if client is None:
            raise RoleRefused("Discord is not set up")
        guild = client.get_guild(guild_id)
        if guild is None:
            raise RoleRefused("the bot is not in that Discord server")
        return guild

    async def add_role(self, guild_id: int, discord_user_id: int, role_id: int) -> bool:
        guild = self._guild(guild_id)
        member = guild.get_member(discord_user_id)
        if member is None:
            raise RoleRefused("you are not in the Discord server")
        role = guild.get_role(role_id)
        if role is None or not role.is_assignable():
            raise RoleRefused("the VIP role cannot be given (ask a moderator)")
        if role in member.roles:
            return False  # held already: not ours to take away at expiry
        try:
            await member.add_roles(role, reason="Temporary VIP (Kick reward)")
        except discord.Forbidden:
            raise RoleRefused("the VIP role cannot be given (ask a moderator)") from None
        return True

    async def remove_role(self, guild_id: int, discord_user_id: int, role_id: int) -> None:
        guild = self._guild(guild_id)
        member = guild.get_member(discord_user_id)
        role = guild.get_role(role_id)
        if member is None or role is None or role not in member.roles:
            return  # left the server, role deleted, or taken by hand: nothing left to do
        try:
            await member.remove_roles(role, reason="Temporary VIP expired")
        except discord.Forbidden:
            raise RoleRefused("no permission to remove the VIP role") from None
