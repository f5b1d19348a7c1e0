"""!tier [@member|name]: what StreamKeeper knows of a subscription and where it learned it."""

from __future__ import annotations

import asyncio

from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import Context, OptionalViewer, guild_of
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.sub_tiers import render
from core.features.sub_tiers.service import SubTierService


class SubTiersCog(commands.Cog, name="Subscription tiers"):
    """Subscription tiers as StreamKeeper learned them from Kick and Twitch."""

    def __init__(self, sub_tiers: SubTierService) -> None:
        self.sub_tiers = sub_tiers

    @commands.hybrid_command(name="tier")
    @commands.guild_only()
    @app_commands.describe(viewer="A @member or a Kick/Twitch name (yourself when left out)")
    async def tier_command(
        self,
        ctx: Context,
        viewer: OptionalViewer = None,
    ) -> None:
        """Show the subscription tier known for you (or a member, or a Kick/Twitch name)."""
        guild = guild_of(ctx)
        if isinstance(viewer, str):
            name = viewer.strip().lstrip("@")
            found = await asyncio.to_thread(self.sub_tiers.for_name, guild.id, name)
            reply = render.tier_reply(found) if found else render.nobody_called(name)
        else:
            member = viewer or ctx.author
            found = await asyncio.to_thread(self.sub_tiers.for_member, guild.id, member.id)
            if found:
                reply = render.tier_reply(found)
            elif viewer is None or member.id == ctx.author.id:
                reply = render.NOT_LINKED_YOURSELF.format(prefix=ctx.clean_prefix)
            else:
                reply = render.not_linked_member(member.id)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)
