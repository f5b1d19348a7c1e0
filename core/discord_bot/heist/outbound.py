"""Posting heist results in a guild's heist channel (implements HeistAnnouncer)."""

from __future__ import annotations

import logging

import discord

from core.discord_bot.common import channel_to_post
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.heist import render
from core.discord_bot.render import NO_MENTIONS
from core.features.heist.ports import HeistResult

log = logging.getLogger(__name__)


class DiscordHeistAnnouncer:
    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    async def announce_result(self, channel_id: int, result: HeistResult) -> bool:
        channel = channel_to_post(
            self.gateway,
            result.guild_id,
            channel_id,
            kind="heist",
            what=f"heist {result.heist_id}",
            fix="set one with !heistset channel #channel",
        )
        if channel is None:
            return False
        try:
            await channel.send(embed=render.result_embed(result), allowed_mentions=NO_MENTIONS)
        except discord.Forbidden:
            log.warning(
                "guild %s: no permission to post heists in channel %s", result.guild_id, channel_id
            )
            return False
        return True
