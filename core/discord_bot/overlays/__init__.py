"""On-stream overlays: !overlay url and !overlay rotate (Manage Server), answered privately."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.overlays.cog import OverlayCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.overlays is None:
        return []
    return [OverlayCog(services.overlays)]
