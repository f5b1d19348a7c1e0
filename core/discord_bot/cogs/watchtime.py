"""Watchtime commands: !watchtime, !leaderboard and !tracking."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot import render
from core.discord_bot.render import NO_MENTIONS
from core.features.guilds.service import GuildService
from core.features.watchtime.service import WatchtimeService

Context = commands.Context[commands.Bot]
_MEMBER_MENTION = re.compile(r"<@!?([0-9]{15,21})>")


class ViewerArgument(commands.Converter[discord.Member | str]):
    """A ``@member`` mention becomes that member; anything else is a Kick name.

    Only real mentions count as members: a bare word is a Kick name even when a Discord member
    happens to share it. Members come from the cache, which the members intent keeps complete,
    so a lookup never waits on a gateway query.
    """

    async def convert(self, ctx: Context, argument: str) -> discord.Member | str:
        argument = argument.strip()
        mention = _MEMBER_MENTION.fullmatch(argument)
        if mention is None:
            return argument.removeprefix("@")
        member_id = int(mention.group(1))
        member = (ctx.guild.get_member(member_id) if ctx.guild else None) or discord.utils.get(
            ctx.message.mentions, id=member_id
        )
        if not isinstance(member, discord.Member):
            raise commands.MemberNotFound(argument)
        return member


def guild_of(ctx: Context) -> discord.Guild:
    """The command's server; the guild_only check has already refused direct messages."""
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    return ctx.guild


class WatchtimeCog(commands.Cog, name="Watchtime"):
    """Time viewers spent in the stream chat while it was live."""

    def __init__(self, watchtime: WatchtimeService, guilds: GuildService) -> None:
        self.watchtime = watchtime
        self.guilds = guilds

    @commands.hybrid_command(name="watchtime")
    @commands.guild_only()
    @app_commands.describe(viewer="A Kick name (or a @member, once accounts can be linked)")
    async def watchtime_command(
        self,
        ctx: Context,
        viewer: Annotated[discord.Member | str | None, ViewerArgument] = None,
    ) -> None:
        """Show a Kick viewer's watchtime and rank in this server."""
        guild = guild_of(ctx)
        if not isinstance(viewer, str):
            # A @member, or no argument (the caller). Needs the Discord-to-Kick link, which comes
            # next; it will resolve the member to a Kick name and continue below.
            reply = render.linking_comes_soon(ctx.clean_prefix)
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)
            return
        await ctx.defer()
        ranked = await asyncio.to_thread(self.watchtime.find_by_username, guild.id, viewer)
        if ranked is None:
            await ctx.send(render.no_watchtime_for(viewer), allowed_mentions=NO_MENTIONS)
            return
        total = await asyncio.to_thread(self.watchtime.count_viewers, guild.id)
        await ctx.send(render.viewer_watchtime(ranked, total), allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="leaderboard", cooldown_after_parsing=True)
    @commands.guild_only()
    @commands.cooldown(1, 5.0, commands.BucketType.channel)
    @app_commands.describe(count="How many viewers to show (1 to 25)")
    async def leaderboard(
        self,
        ctx: Context,
        count: commands.Range[int, render.LEADERBOARD_MIN, render.LEADERBOARD_MAX] = (
            render.LEADERBOARD_DEFAULT
        ),
    ) -> None:
        """Show the viewers with the most watchtime in this server."""
        guild = guild_of(ctx)
        await ctx.defer()
        rows = await asyncio.to_thread(self.watchtime.leaderboard, guild.id, count)
        if not rows:
            await ctx.send(render.EMPTY_LEADERBOARD, allowed_mentions=NO_MENTIONS)
            return
        embed = render.leaderboard_embed(guild.name, rows)
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_group(name="tracking", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    async def tracking(self, ctx: Context) -> None:
        """Turn watchtime tracking on or off, or see whether it runs."""
        await ctx.send(render.tracking_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @tracking.command(name="on")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    async def tracking_on(self, ctx: Context) -> None:
        """Start crediting watchtime to viewers who chat while live (Manage Server)."""
        await self._set_tracking(ctx, enabled=True)

    @tracking.command(name="off")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    async def tracking_off(self, ctx: Context) -> None:
        """Stop crediting watchtime; totals so far are kept (Manage Server)."""
        await self._set_tracking(ctx, enabled=False)

    @tracking.command(name="status")
    @commands.guild_only()
    async def tracking_status(self, ctx: Context) -> None:
        """Show whether tracking is on, who is present now and when it last ran."""
        guild = guild_of(ctx)
        await ctx.defer()
        status = await asyncio.to_thread(self.watchtime.tracking_status, guild.id)
        await ctx.send(render.tracking_status(status), allowed_mentions=NO_MENTIONS)

    async def _set_tracking(self, ctx: Context, *, enabled: bool) -> None:
        guild = guild_of(ctx)
        await ctx.defer()
        # The guild row is created here, on the first settings change, not on every message.
        await asyncio.to_thread(self.guilds.ensure_guild, guild.id, guild.name)
        status = await asyncio.to_thread(self.watchtime.set_tracking, guild.id, enabled)
        await ctx.send(render.tracking_changed(status), allowed_mentions=NO_MENTIONS)
