"""The server directory: the bot writes what its gateway cache holds of each server (names,
icons, roles, channels, members' display names) for the dashboard (core/features/directory/)."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.directory.cog import DirectoryCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.directory is None:
        return []
    return [DirectoryCog(services.directory, services.guilds)]
