"""The streamer's Twitch connection: !twitch setup|status|sync|disconnect."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.services import BotServices
from core.discord_bot.twitch.cog import TwitchCog


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.twitch_setup is None:
        return []
    return [TwitchCog(services.twitch_setup)]
