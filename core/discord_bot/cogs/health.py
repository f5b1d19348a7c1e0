"""!health: the same checks as ``/health`` and ``python -m core health``, for server managers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from discord import app_commands
from discord.ext import commands

from core.discord_bot import render
from core.discord_bot.render import NO_MENTIONS
from core.health import HealthReport


class HealthCog(commands.Cog, name="Health"):
    """Whether the bot's database, event pipeline and platform connections work."""

    def __init__(self, health: Callable[[], HealthReport]) -> None:
        self.health = health

    @commands.hybrid_command(name="health")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    async def health_command(self, ctx: commands.Context[commands.Bot]) -> None:
        """Check the bot's database and connections (Manage Server)."""
        await ctx.defer()
        # The checks probe the database and Redis, which may block.
        report = await asyncio.to_thread(self.health)
        await ctx.send(render.health_report(report), allowed_mentions=NO_MENTIONS)
