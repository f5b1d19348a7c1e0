"""Heist commands on Discord: !heist stats (everyone), !heist settings and !heistset
(Manage Server). Viewers play in stream chat (core/features/heist/chat.py)."""

from __future__ import annotations

import asyncio

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, guild_of, manage_server, typed_channel_refusal
from core.discord_bot.heist import render
from core.discord_bot.render import NO_MENTIONS
from core.features.heist.rules import HeistRefused, setting_name
from core.features.heist.service import HeistService


class HeistCog(commands.Cog, name="Heist"):
    """The chat heist: viewers stake points with !heist or !join in stream chat."""

    def __init__(self, service: HeistService) -> None:
        self.service = service

    @commands.hybrid_group(name="heist", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    async def heist(self, ctx: Context) -> None:
        """The heist's numbers in this server (settings: Manage Server)."""
        await self.heist_stats(ctx)

    @heist.command(name="stats")
    async def heist_stats(self, ctx: Context) -> None:
        """How many heists ran here, what was staked and paid out."""
        guild = guild_of(ctx)
        stats = await asyncio.to_thread(self.service.stats, guild.id)
        currency = await asyncio.to_thread(self.service.points.name, guild.id)
        await ctx.send(render.stats_text(stats, currency), allowed_mentions=NO_MENTIONS)

    @heist.command(name="settings")
    @manage_server()
    async def heist_settings(self, ctx: Context) -> None:
        """Show the heist's settings: stakes, odds, tier bonuses, timing (Manage Server)."""
        listing = await asyncio.to_thread(self.service.settings_listing, guild_of(ctx).id)
        await ctx.send(
            render.settings_text(listing, ctx.clean_prefix), allowed_mentions=NO_MENTIONS
        )

    @commands.hybrid_command(name="heistset")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(name="A setting, as !heist settings lists them", value="Its new value")
    async def heistset(self, ctx: Context, name: str, *, value: str) -> None:
        """Change a heist setting, e.g. min_bet 50, high_chance 25, tier_3 1.6, sub_bonus off,
        channel #heists (Manage Server)."""
        guild = guild_of(ctx)
        if _names_the_channel(name):
            refusal = typed_channel_refusal(guild, value, embeds=True)
            if refusal is not None:
                await ctx.send(refusal, allowed_mentions=NO_MENTIONS)
                return
        changed, shown = await asyncio.to_thread(self.service.set_setting, guild.id, name, value)
        await ctx.send(render.setting_changed(changed, shown), allowed_mentions=NO_MENTIONS)


def _names_the_channel(name: str) -> bool:
    """``channel`` typed any way the service takes it (``channel_id``, ``Channel-Id``)."""
    try:
        return setting_name(name) == "channel"
    except HeistRefused:
        return False  # no such setting: the service says so, with the list
