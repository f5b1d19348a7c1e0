"""The streamer's Kick connection: !kick setup|sync|status and !check_kick_config."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.connections.cog import KickCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.kick_setup is None:
        return []

    return [KickCog(services.kick_setup)]
