"""The streamer's connections: ``!kick setup|sync|status``, ``!check_kick_config`` and
``!twitch setup|status|sync|disconnect``, one cog per platform that is configured."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.connections.kick.cog import KickCog
from core.discord_bot.connections.twitch.cog import TwitchCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    found: list[commands.Cog] = []
    if services.kick_setup is not None:
        found.append(KickCog(services.kick_setup))
    if services.twitch_setup is not None:
        found.append(TwitchCog(services.twitch_setup))
    return found
