"""Posting slot calls into a guild's slot call channel (implements SlotCallPoster)."""

from __future__ import annotations

import logging

import discord

from core.discord_bot.common import channel_to_post
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.slot_calls import render as render_slot_calls
from core.discord_bot.slot_calls.buttons import call_view
from core.features.slot_calls.repository import SlotCall

log = logging.getLogger(__name__)


class DiscordSlotCallPoster:
    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    async def post_call(self, channel_id: int, call: SlotCall, position: int) -> bool:
        channel = channel_to_post(
            self.gateway,
            call.guild_id,
            channel_id,
            kind="slot call",
            what=f"slot call {call.id} in guild {call.guild_id}",
            fix="set one with !slotcalls channel",
        )
        if channel is None:
            return False
        member = (
            channel.guild.get_member(call.discord_user_id)
            if call.discord_user_id is not None
            else None
        )
        embed = render_slot_calls.call_embed(call, position, member)
        try:
            # Pick, Skip and Clear all, answered by the bot whenever they are pressed.
            view = call_view(call.id)
            await channel.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        except discord.Forbidden:
            log.warning(
                "guild %s: no permission to post slot calls in channel %s",
                call.guild_id,
                channel_id,
            )
            return False
        return True
