"""Slot calls from chat: !slotcalls, !slotlist, !pickslot, !clearslots and !callblacklist."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.services import BotServices
from core.discord_bot.slot_calls.cog import SlotCallsCog


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.slot_calls is None:
        return []

    return [SlotCallsCog(services.slot_calls, services.guilds, services.slot_call_chat)]
