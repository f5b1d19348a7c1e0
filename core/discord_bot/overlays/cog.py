"""!overlay url | rotate (Manage Server): an overlay's secret URL, never posted in a channel.

As a slash command the answer is ephemeral; as a prefix command it goes by DM and the channel
hears only that it was sent."""

from __future__ import annotations

import asyncio
from typing import Literal

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, ManagersCog, guild_of, send_dm
from core.discord_bot.overlays import render
from core.discord_bot.render import NO_MENTIONS
from core.features.overlays.service import OverlayService

Kind = Literal["heist", "raffle", "alerts", "goal"]


class OverlayCog(ManagersCog, name="Overlays"):
    """On-stream overlays for OBS: the heist, the raffle, alerts and the goal bar."""

    def __init__(self, service: OverlayService) -> None:
        self.service = service

    @commands.hybrid_group(name="overlay", invoke_without_command=True, case_insensitive=True)
    @app_commands.default_permissions(manage_guild=True)
    async def overlay(self, ctx: Context) -> None:
        """On-stream overlays for OBS (Manage Server)."""
        await ctx.send(render.usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @overlay.command(name="url")
    @app_commands.describe(kind="which overlay: heist, raffle, alerts or goal")
    async def url(self, ctx: Context, kind: Kind) -> None:
        """Get an overlay's URL for OBS, privately (a DM, or only you see the slash answer)."""
        guild = guild_of(ctx)
        address = await asyncio.to_thread(self.service.url, guild.id, kind)
        await self._privately(ctx, render.current(kind, address), render.SENT_BY_DM)

    @overlay.command(name="rotate")
    @app_commands.describe(kind="which overlay: heist, raffle, alerts or goal")
    async def rotate(self, ctx: Context, kind: Kind) -> None:
        """Make a new URL for an overlay; the old one stops working at once. Sent privately."""
        guild = guild_of(ctx)
        address = await asyncio.to_thread(self.service.url, guild.id, kind, rotate=True)
        await self._privately(
            ctx,
            render.rotated(kind, address),
            render.ROTATED_BY_DM,
            dms_closed=render.rotated_dms_closed(kind),  # the old URL is gone all the same
        )

    async def _privately(
        self, ctx: Context, text: str, sent: str, *, dms_closed: str = render.DMS_CLOSED
    ) -> None:
        if ctx.interaction is not None:
            await ctx.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        if await send_dm(ctx.author, text, what="overlay URL"):
            await ctx.send(sent, allowed_mentions=NO_MENTIONS)
        else:
            await ctx.send(dms_closed, allowed_mentions=NO_MENTIONS)
