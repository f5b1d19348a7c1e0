"""Posting slot calls into a guild's slot call channel (implements SlotCallPoster)."""

from __future__ import annotations

from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.slot_calls import render as render_slot_calls
from core.discord_bot.slot_calls.buttons import call_view
from core.features.slot_calls.repository import SlotCall


class DiscordSlotCallPoster(ChannelPoster):
    kind = "slot call"
    fix = "set one with !slotcalls channel"

    async def post_call(self, channel_id: int, call: SlotCall, position: int) -> str | None:
        what = f"slot call {call.id} in guild {call.guild_id}"
        channel = self.lookup(call.guild_id, channel_id, what)
        if isinstance(channel, str):
            return channel
        member = (
            channel.guild.get_member(call.discord_user_id)
            if call.discord_user_id is not None
            else None
        )
        embed = render_slot_calls.call_embed(call, position, member)
        # Pick, Skip and Clear all, answered by the bot whenever they are pressed.
        view = call_view(call.id)
        return await self.send(channel, embed=embed, view=view)
