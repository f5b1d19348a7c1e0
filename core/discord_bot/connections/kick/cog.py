"""Kick commands: !kick setup, !kick sync, !kick status (and !check_kick_config).

The connect link lets whoever opens it connect a Kick account to the server, so it only ever
goes to the admin who asked: by DM after ``!kick setup``, or in the ephemeral reply to
``/kick setup``. The channel reply never holds it.
"""

from __future__ import annotations

import asyncio
import logging

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    RECORD_MAX,
    Context,
    guild_of,
    manage_server,
    send_privately,
)
from core.discord_bot.connections.kick import render as render_kick
from core.discord_bot.render import NO_MENTIONS
from core.features.connections.channel_setup import SetupFailed
from core.features.connections.kick.setup import KickSetup
from core.platforms.kick.api import KickApiError
from core.platforms.kick.oauth_client import OAuthError

log = logging.getLogger(__name__)


class KickCog(commands.Cog, name="Kick"):
    """Connect this server to a Kick channel and check that the connection works."""

    def __init__(self, kick: KickSetup) -> None:
        self.kick = kick

    @commands.hybrid_group(name="kick", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    @manage_server()
    async def kick_group(self, ctx: Context) -> None:
        """Connect a Kick channel and check its connection (Manage Server)."""
        await ctx.send(render_kick.kick_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    # ignore_extra=False: "!kick setup name lots" is refused, not set up without a chatroom id.
    @kick_group.command(name="setup", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @commands.max_concurrency(1, commands.BucketType.guild)
    @app_commands.describe(
        channel="The Kick channel: its name, @name or kick.com link",
        chatroom_id="Its chatroom id, if the bot can't find it (Pusher needs it)",
    )
    async def kick_setup(
        self,
        ctx: Context,
        channel: str,
        chatroom_id: int | None = None,
    ) -> None:
        """Tie this server to a Kick channel; sends you the link to connect it (Manage Server)."""
        guild = guild_of(ctx)
        # A slash reply is ephemeral from the start, so the link in it is for the caller alone.
        private = ctx.interaction is not None
        if chatroom_id is not None and not 1 <= chatroom_id <= RECORD_MAX:
            raise commands.BadArgument("a chatroom id is a whole number above 0")
        if not channel.strip().lstrip("@").strip():
            reply = render_kick.not_a_channel(ctx.clean_prefix)
            await ctx.send(reply, ephemeral=private, allowed_mentions=NO_MENTIONS)
            return
        await ctx.defer(ephemeral=private)
        try:
            result = await self.kick.setup(guild.id, ctx.author.id, channel, chatroom_id)
        except SetupFailed as failed:
            reply = render_kick.setup_failed(str(failed))
            await ctx.send(reply, ephemeral=private, allowed_mentions=NO_MENTIONS)
            return
        # Remember the server's name too, as !tracking does.
        await asyncio.to_thread(self.kick.guilds.ensure_guild, guild.id, guild.name)
        delivered = await send_privately(
            ctx,
            render_kick.setup_done_private(result),
            dm_text=render_kick.connect_link_dm(result, guild.name),
            view=render_kick.connect_link_view(result.connect_link),
            what="the Kick connect link",
        )
        if private:
            return
        if delivered:
            reply = render_kick.setup_done(result)
        else:
            reply = render_kick.setup_done_dms_closed(result)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @kick_group.command(name="sync")
    @commands.guild_only()
    @manage_server()
    @commands.max_concurrency(1, commands.BucketType.guild)
    async def kick_sync(self, ctx: Context) -> None:
        """Subscribe to every Kick event the bot uses, now (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        try:
            report = await self.kick.sync(guild.id)
        except (KickApiError, OAuthError) as exc:
            log.warning("guild %s: !kick sync could not reach Kick: %s", guild.id, exc)
            await ctx.send(render_kick.sync_unreachable(exc), allowed_mentions=NO_MENTIONS)
            return
        reply = render_kick.sync_report(report, ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @kick_group.command(name="status")
    @commands.guild_only()
    @manage_server()
    async def kick_status(self, ctx: Context) -> None:
        """Check every part of the Kick connection, with fixes (Manage Server)."""
        await self._show_status(ctx)

    @commands.hybrid_command(name="check_kick_config")
    @commands.guild_only()
    @manage_server()
    async def check_kick_config(self, ctx: Context) -> None:
        """The same as !kick status (Manage Server)."""
        await self._show_status(ctx)

    async def _show_status(self, ctx: Context) -> None:
        guild = guild_of(ctx)
        await ctx.defer()
        status = await asyncio.to_thread(self.kick.status, guild.id)
        reply = render_kick.kick_status(status, ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)
