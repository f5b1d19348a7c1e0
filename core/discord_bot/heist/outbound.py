"""Posting heist results in a guild's heist channel (implements HeistAnnouncer)."""

from __future__ import annotations

import logging

from core.discord_bot.channel_posts import ChannelPoster, post_nonce
from core.discord_bot.heist import render
from core.features.heist.ports import HeistResult

log = logging.getLogger(__name__)


class DiscordHeistAnnouncer(ChannelPoster):
    kind = "heist"
    fix = "set one with !heistset channel #channel"

    async def announce_result(self, channel_id: int, result: HeistResult) -> str | None:
        what = f"heist {result.heist_id}"
        if self.gateway.client_for(result.guild_id) is None:
            log.info("Discord is off; %s not posted", what)
            return None  # no Discord to post in: nothing for a moderator to fix
        channel = self.lookup(result.guild_id, channel_id, what)
        if isinstance(channel, str):
            return channel
        # Posted again at the next round when Discord answered too late: one message all the same.
        nonce = post_nonce("heist", result.guild_id, result.heist_id)
        return await self.send(channel, embed=render.result_embed(result), nonce=nonce)
