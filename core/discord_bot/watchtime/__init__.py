"""Watchtime in Discord: !watchtime, !leaderboard and !tracking."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.services import BotServices
from core.discord_bot.watchtime.cog import WatchtimeCog


def cogs(services: BotServices) -> list[commands.Cog]:
    return [WatchtimeCog(services.watchtime, services.guilds, services.roles)]
