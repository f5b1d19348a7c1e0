"""Posting heist results in a guild's heist channel (implements HeistAnnouncer)."""

from __future__ import annotations

from core.discord_bot.channel_posts import ChannelPoster, post_nonce
from core.discord_bot.heist import render
from core.features.heist.ports import HeistResult


class DiscordHeistAnnouncer(ChannelPoster):
    kind = "heist"
    fix = "set one with !heistset channel #channel"

    async def announce_result(self, channel_id: int, result: HeistResult) -> bool:
        channel = self.channel(result.guild_id, channel_id, f"heist {result.heist_id}")
        if channel is None:
            return False
        # Posted again at the next round when Discord answered too late: one message all the same.
        nonce = post_nonce("heist", result.guild_id, result.heist_id)
        return await self.post(channel, embed=render.result_embed(result), nonce=nonce)
