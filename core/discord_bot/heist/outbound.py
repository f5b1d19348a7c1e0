"""Posting heist results in a guild's heist channel (implements HeistAnnouncer)."""

from __future__ import annotations

import logging

import discord

from core.discord_bot.common import guild_channel
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.heist import render
from core.discord_bot.render import NO_MENTIONS
from core.features.heist.ports import HeistResult

log = logging.getLogger(__name__)


class DiscordHeistAnnouncer:
    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    async def announce_result(self, channel_id: int, result: HeistResult) -> bool:
        client = self.gateway.client()  # raises DiscordUnavailable while not connected
        if client is None:
            log.info("Discord is off; heist %s not posted", result.heist_id)
            return False
        channel = guild_channel(client, result.guild_id, channel_id)
        if channel is None:
            log.warning(
                "guild %s: heist channel %s is not a text channel of that server; heist %s "
                "not posted (set one with !heistset channel #channel)",
                result.guild_id,
                channel_id,
                result.heist_id,
            )
            return False
        try:
            await channel.send(embed=render.result_embed(result), allowed_mentions=NO_MENTIONS)
        except discord.Forbidden:
            log.warning(
                "guild %s: no permission to post heists in channel %s", result.guild_id, channel_id
            )
            return False
        return True
