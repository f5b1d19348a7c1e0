"""Watchtime commands: !watchtime, !leaderboard and !tracking."""

from __future__ import annotations

import asyncio
import math

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    Context,
    OptionalViewer,
    WholeRange,
    guild_of,
    manage_server,
)
from core.discord_bot.cooldowns import cooldown
from core.discord_bot.pages import send_pages
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.watchtime import render
from core.features.guilds.service import GuildService
from core.features.roles.repository import RoleTier
from core.features.roles.service import RolesService, progress_of
from core.features.watchtime.service import RankedWatchtime, WatchtimeService


class WatchtimeCog(commands.Cog, name="Watchtime"):
    """Time viewers spent in the stream chat while it was live."""

    def __init__(
        self,
        watchtime: WatchtimeService,
        guilds: GuildService,
        roles: RolesService | None = None,
    ) -> None:
        self.watchtime = watchtime
        self.guilds = guilds
        self.roles = roles  # the watchtime roles, for the next role's progress; None: names only

    @commands.hybrid_command(name="watchtime")
    @commands.guild_only()
    @app_commands.describe(viewer="A @member, or a Kick or Twitch name (yourself when left out)")
    async def watchtime_command(
        self,
        ctx: Context,
        viewer: OptionalViewer = None,
    ) -> None:
        """Show your watchtime (or a member's, a Kick or Twitch name's), rank and next role."""
        guild = guild_of(ctx)
        member_id: int | None = None
        if not isinstance(viewer, str):
            member_id = (viewer or ctx.author).id
            accounts = await asyncio.to_thread(self.watchtime.accounts_of_member, member_id)
            if not accounts:
                reply = (
                    render.not_linked_yourself(ctx.clean_prefix)
                    if viewer is None or viewer.id == ctx.author.id
                    else render.not_linked_member(member_id, ctx.clean_prefix)
                )
                await ctx.send(reply, allowed_mentions=NO_MENTIONS)
                return
            await ctx.defer()
            found = []
            for account in accounts:
                ranked = await asyncio.to_thread(
                    self.watchtime.find_by_user_id,
                    guild.id,
                    account.platform_user_id,
                    account.platform,
                )
                if ranked is not None:
                    found.append(ranked)
            if not found:
                reply = render.no_watchtime_for_member(member_id, accounts)
                await ctx.send(reply, allowed_mentions=NO_MENTIONS)
                return
        else:
            await ctx.defer()
            found = await asyncio.to_thread(self.watchtime.find_all_by_username, guild.id, viewer)
            if not found:
                await ctx.send(render.no_watchtime_for(viewer), allowed_mentions=NO_MENTIONS)
                return
        await self._send_viewers(ctx, guild.id, found, member_id=member_id)

    async def _send_viewers(
        self,
        ctx: Context,
        guild_id: int,
        found: list[RankedWatchtime],
        *,
        member_id: int | None = None,
    ) -> None:
        """One line per account found; a name on both platforms shows both, each labelled with
        its platform. The next role follows each viewer once: a linked member's is reckoned, as
        role sync does, from their account with the most watchtime here."""
        members = await self._linked_members(guild_of(ctx), found)
        total = await asyncio.to_thread(self.watchtime.count_viewers, guild_id)
        tiers = await self._tiers_given(ctx)
        linked = [members.get(render.member_key(ranked.entry), member_id) for ranked in found]
        counted: dict[int, int] = {}
        if tiers and self.roles is not None:
            for member in {m for m in linked if m is not None}:
                seconds = await asyncio.to_thread(self.roles.linked_seconds, guild_id, member)
                counted.update(seconds)
        parts = []
        for index, (ranked, member) in enumerate(zip(found, linked, strict=True)):
            progress = None
            if tiers and (member is None or member not in linked[index + 1 :]):
                seconds = counted.get(member, 0) if member is not None else 0
                progress = progress_of(tiers, max(seconds, ranked.entry.seconds))
            parts.append(
                render.viewer_watchtime(
                    ranked,
                    total,
                    member_id=member,
                    progress=progress,
                    show_platform=len(found) > 1,
                )
            )
        await ctx.send("\n".join(parts), allowed_mentions=NO_MENTIONS)

    async def _tiers_given(self, ctx: Context) -> list[RoleTier]:
        """The watchtime roles members can reach now: none while they are turned off, and no
        tier turned off on its own or whose role was deleted."""
        if self.roles is None:
            return []
        guild = guild_of(ctx)
        settings = await asyncio.to_thread(self.roles.settings, guild.id)
        if not settings.enabled:
            return []
        tiers = await asyncio.to_thread(self.roles.tiers, guild.id)
        return [tier for tier in tiers if tier.enabled and guild.get_role(tier.role_id)]

    @commands.hybrid_command(name="leaderboard")
    @commands.guild_only()
    @cooldown(5.0, commands.BucketType.channel)
    @app_commands.describe(count="How many viewers per page (1 to 25)")
    async def leaderboard(
        self,
        ctx: Context,
        count: WholeRange[int, render.LEADERBOARD_MIN, render.LEADERBOARD_MAX] = (
            render.LEADERBOARD_DEFAULT
        ),
    ) -> None:
        """Show the viewers with the most watchtime here, with buttons to page through."""
        guild = guild_of(ctx)
        await ctx.defer()

        async def fetch(page: int) -> tuple[list[RankedWatchtime], dict[str, int]]:
            rows = await asyncio.to_thread(
                self.watchtime.leaderboard, guild.id, count, page * count
            )
            return rows, await self._linked_members(guild, rows)

        rows, members = await fetch(0)
        if not rows:
            await ctx.send(render.EMPTY_LEADERBOARD, allowed_mentions=NO_MENTIONS)
            return
        total = await asyncio.to_thread(self.watchtime.count_viewers, guild.id)
        pages = max(1, math.ceil(total / count))
        first = render.leaderboard_embed(guild.name, rows, members, page=0, pages=pages)

        async def render_page(page: int) -> discord.Embed:
            rows, members = await fetch(page)
            return render.leaderboard_embed(guild.name, rows, members, page=page, pages=pages)

        await send_pages(
            ctx, first, render_page=render_page, pages=pages, not_yours=render.NOT_YOUR_LEADERBOARD
        )

    async def _linked_members(
        self, guild: discord.Guild, rows: list[RankedWatchtime]
    ) -> dict[str, int]:
        """Members of this server linked to these rows' accounts, by ``"<platform>:<user id>"``.
        Links count across servers: one made by someone who is not here is left out (their
        mention would read "@Unknown User" and tell this server which Discord account it is)."""
        linked = await asyncio.to_thread(self.watchtime.linked_members, [row.entry for row in rows])
        return {key: user for key, user in linked.items() if guild.get_member(user) is not None}

    @commands.hybrid_group(name="tracking", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    async def tracking(self, ctx: Context) -> None:
        """Turn watchtime tracking on or off, or see whether it runs."""
        await ctx.send(render.tracking_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @tracking.command(name="on")
    @commands.guild_only()
    @manage_server()
    async def tracking_on(self, ctx: Context) -> None:
        """Start crediting watchtime to viewers who chat while live (Manage Server)."""
        await self._set_tracking(ctx, enabled=True)

    @tracking.command(name="off")
    @commands.guild_only()
    @manage_server()
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
