"""Twitch commands: !twitch setup, !twitch status, !twitch sync, !twitch disconnect.

A connect link lets whoever opens it start a Twitch consent for the server, so it only goes to
the admin who asked: by DM, or in the ephemeral reply to the slash command. Refusals
(``SetupFailed``) are answered by the bot's error handler.
"""

from __future__ import annotations

import asyncio
import logging

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, guild_of, manage_server, send_privately
from core.discord_bot.connections.twitch import render
from core.discord_bot.render import NO_MENTIONS
from core.features.connections.channel_setup import SetupFailed
from core.features.connections.twitch.setup import TwitchSetup
from core.platforms.twitch.helix import HelixError
from core.platforms.twitch.oauth_client import TwitchOAuthError

log = logging.getLogger(__name__)
LINK = "a Twitch connect link"


class TwitchCog(commands.Cog, name="Twitch"):
    """Connect this server to a Twitch channel and check that the connection works."""

    def __init__(self, twitch: TwitchSetup) -> None:
        self.twitch = twitch

    @commands.hybrid_group(name="twitch", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    @manage_server()
    async def twitch_group(self, ctx: Context) -> None:
        """Connect a Twitch channel and check its connection (Manage Server)."""
        await ctx.send(render.twitch_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @twitch_group.command(name="setup", ignore_extra=False)
    @commands.guild_only()
    @manage_server()
    @commands.max_concurrency(1, commands.BucketType.guild)
    @app_commands.describe(channel="The Twitch channel: its login, @login or twitch.tv link")
    async def twitch_setup(self, ctx: Context, channel: str) -> None:
        """Tie this server to a Twitch channel; sends you the link to connect it."""
        guild = guild_of(ctx)
        private = ctx.interaction is not None
        await ctx.defer(ephemeral=private)
        result = await self.twitch.setup(guild.id, ctx.author.id, channel)
        await asyncio.to_thread(self.twitch.guilds.ensure_guild, guild.id, guild.name)
        text = render.connect_link_dm(result, guild.name)
        if private:  # the only reply the admin sees
            text += render.replaced(result)
        delivered = await send_privately(ctx, text, what=LINK)
        if private:
            return
        if delivered:
            reply = render.setup_done(result)
        else:
            reply = render.setup_done_dms_closed(result, ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @twitch_group.command(name="status")
    @commands.guild_only()
    @manage_server()
    async def twitch_status(self, ctx: Context) -> None:
        """The connection, missing permissions and subscriptions, with fixes (Manage Server)."""
        guild = guild_of(ctx)
        private = ctx.interaction is not None
        await ctx.defer(ephemeral=private)
        status = await asyncio.to_thread(self.twitch.status, guild.id, ctx.author.id)
        link_sent = False
        if status.reconsent_link is not None:
            text = render.reconsent_link_dm(status.reconsent_link, guild.name)
            link_sent = await send_privately(ctx, text, what=LINK)
        reply = render.twitch_status(status, ctx.clean_prefix, link_sent=link_sent)
        await ctx.send(reply, ephemeral=private, allowed_mentions=NO_MENTIONS)

    @twitch_group.command(name="sync")
    @commands.guild_only()
    @manage_server()
    @commands.max_concurrency(1, commands.BucketType.guild)
    async def twitch_sync(self, ctx: Context) -> None:
        """Subscribe to every Twitch event the bot uses, now (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        try:
            report = await self.twitch.sync(guild.id)
        except (HelixError, TwitchOAuthError) as exc:
            log.warning("guild %s: !twitch sync could not reach Twitch: %s", guild.id, exc)
            raise SetupFailed(
                "Twitch did not answer, so nothing changed. Try again in a minute."
            ) from exc
        await ctx.send(render.sync_report(report), allowed_mentions=NO_MENTIONS)

    @twitch_group.command(name="disconnect")
    @commands.guild_only()
    @manage_server()
    async def twitch_disconnect(self, ctx: Context) -> None:
        """Pause the server's VIP rewards on Twitch, give the streamer's Twitch tokens back and
        forget them (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        done = await self.twitch.disconnect(guild.id)
        await ctx.send(render.disconnected(done), allowed_mentions=NO_MENTIONS)
