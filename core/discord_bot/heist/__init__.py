"""The heist on Discord: !heist settings, !heist stats and !heistset; results in the heist
channel (outbound.py)."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.heist.cog import HeistCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.heist is None:
        return []
    return [HeistCog(services.heist)]
