"""Temporary VIP notices in a guild's Discord channel (implements VipNotices)."""

from __future__ import annotations

import logging

import discord

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.render import MESSAGE_LIMIT, NO_MENTIONS, inert, truncate

log = logging.getLogger(__name__)
PostableChannel = discord.TextChannel | discord.Thread


class DiscordVipNotices:
    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    async def post_notice(self, guild_id: int, channel_id: int, text: str) -> None:
        client = self.gateway.client()  # raises DiscordUnavailable while not connected
        if client is None:
            log.info("Discord is off; VIP notice for guild %s not posted", guild_id)
            return
        channel = client.get_channel(channel_id)
        if not isinstance(channel, PostableChannel) or channel.guild.id != guild_id:
            log.warning(
                "guild %s: VIP notice channel %s is not a text channel of that server "
                "(set one with !vip set channel)",
                guild_id,
                channel_id,
            )
            return
        try:
            await channel.send(truncate(inert(text), MESSAGE_LIMIT), allowed_mentions=NO_MENTIONS)
        except discord.Forbidden:
            log.warning("guild %s: no permission to post in channel %s", guild_id, channel_id)
