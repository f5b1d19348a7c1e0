"""Points in Discord: !points, !pointsboard, !pointsgive, !pointsremove, !points rate|name."""

from __future__ import annotations

from discord.ext import commands

from core.discord_bot.points.cog import PointsCog
from core.discord_bot.services import BotServices


def cogs(services: BotServices) -> list[commands.Cog]:
    if services.points is None:
        return []
    return [PointsCog(services.points, services.linking, services.points_wallet)]
