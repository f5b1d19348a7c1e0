"""Linking commands: !link [kick|twitch], !unlink, !linked, !linkowner, !linkrole, !linklogs,
and the link panels (``panels.py``, mixed in).

A start link is personal (it links whoever opens it to the member it names), so it only ever
goes to that member: by DM after ``!link`` or a panel reaction, or in the ephemeral reply to
``/link`` and to a panel button. A channel reply never holds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    Context,
    PostableChannel,
    guild_channel,
    guild_of,
    manage_server,
    post_refusal,
    typed_channel_refusal,
)
from core.discord_bot.cooldowns import Cooldowns, cooldown, reset_cooldown
from core.discord_bot.linking import render as render_linking
from core.discord_bot.linking.outbound import role_problem
from core.discord_bot.linking.panels import (
    LINK_COOLDOWN_SECONDS,
    LinkButtonView,
    LinkPanels,
    panel_emoji,
)
from core.discord_bot.render import NO_MENTIONS
from core.events import system_clock
from core.features.linking.effects import LinkEffects
from core.features.linking.platforms import PlatformChoice, parse_platform
from core.features.linking.service import LinkingService

# Re-exported: the tests and the fuzzers name them here.
__all__ = ["LINK_COOLDOWN_SECONDS", "LinkButtonView", "LinkingCog", "panel_emoji"]
log = logging.getLogger(__name__)
OFF_WORDS = ("off", "none", "disable")
# Said by /link and by !help link alike.
LINK_PLATFORM_HELP = "kick or twitch (default: this server's platform)"


class LinkedRoleArgument(commands.Converter[discord.Role | str]):
    """A role of this server (mention, id or name), or ``off``."""

    async def convert(self, ctx: Context, argument: str) -> discord.Role | str:
        if argument.strip().lower() in OFF_WORDS:
            return "off"
        return await commands.RoleConverter().convert(ctx, argument.strip())


class LinkingCog(LinkPanels, commands.Cog, name="Linking"):
    """Link your Discord account to your Kick and Twitch accounts, so your watchtime counts
    here."""

    def __init__(
        self,
        linking: LinkingService,
        effects: LinkEffects,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self.linking = linking
        self.effects = effects
        self._clock = clock
        # A panel click sends a link at most this often per member, on the bot's clock.
        self._panel_cooldown = Cooldowns(lambda: clock().timestamp())

    def persistent_views(self) -> list[discord.ui.View]:
        """Views the bot registers at start so buttons on earlier messages keep working."""
        return [LinkButtonView(self)]  # every button ever posted, old Kick-only panels included

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """A member who comes back with the account they linked here gets this server's linked
        role and their watchtime roles again, through the Discord worker: leaving took them."""
        if member.bot:
            return
        joined = member.joined_at or self._clock()
        try:
            await asyncio.to_thread(self.linking.member_joined, member.guild.id, member.id, joined)
        except Exception:
            log.warning(
                "guild %s: could not queue the linked roles of member %s who joined",
                member.guild.id,
                member.id,
                exc_info=True,
            )

    # --- !link ----------------------------------------------------------------------------

    @commands.hybrid_command(name="link")
    @commands.guild_only()
    @cooldown(LINK_COOLDOWN_SECONDS, commands.BucketType.user)
    @app_commands.describe(platform=LINK_PLATFORM_HELP)
    async def link(
        self,
        ctx: Context,
        platform: str | None = commands.parameter(default=None, description=LINK_PLATFORM_HELP),
    ) -> None:
        """Get your personal link to connect your Kick or Twitch account (/link: shown here).

        By DM. Name the platform when this server has both: !link kick or !link twitch."""
        guild = guild_of(ctx)
        private = ctx.interaction is not None
        choice = await asyncio.to_thread(self.linking.choose_platform, guild.id, platform)
        if choice.platform is None:
            reset_cooldown(ctx)  # no link went out: they may try again at once
            await self._no_platform(ctx, choice)
            return
        chosen = choice.platform
        await ctx.defer(ephemeral=private)
        link, current = await self._start_link(guild.id, ctx.author.id, chosen)
        if private:
            await ctx.send(
                render_linking.link_private(link, current, chosen),
                view=render_linking.link_view(link, chosen),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        if await self.send_link_by_dm(ctx.author, link, guild.name, current, chosen):
            await ctx.send(render_linking.link_sent(chosen), allowed_mentions=NO_MENTIONS)
            return
        # They should be able to use /link right away, which shares this cooldown.
        reset_cooldown(ctx)
        await ctx.send(render_linking.DMS_CLOSED, allowed_mentions=NO_MENTIONS)

    async def _no_platform(self, ctx: Context, choice: PlatformChoice) -> None:
        """``!link`` named no platform it can link, or the guild offers several."""
        if choice.unknown is not None:
            reply = render_linking.unknown_platform(
                choice.unknown, choice.offered, ctx.clean_prefix
            )
        elif choice.unavailable is not None:
            reply = render_linking.unavailable_for(choice.unavailable)
        elif not choice.offered:
            reply = render_linking.UNAVAILABLE
        else:
            await ctx.send(
                render_linking.choose_platform(choice.offered, ctx.clean_prefix),
                view=LinkButtonView(self, choice.offered),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # --- !unlink --------------------------------------------------------------------------

    # ignore_extra=False: a mistyped member ("!unlink bobb") is refused, not taken as "unlink
    # me" (an optional argument that does not convert is skipped otherwise). A discord.User
    # too: someone who left the server is named by their user id (or mention).
    @commands.hybrid_command(name="unlink", ignore_extra=False)
    @commands.guild_only()
    @app_commands.describe(
        member="Unlink this member (or user id, for someone who left) instead of yourself "
        "(Manage Server)",
        platform="kick or twitch (needed only when linked on both)",
    )
    async def unlink(
        self,
        ctx: Context,
        member: discord.Member | discord.User | None = None,
        platform: str | None = None,
    ) -> None:
        """Unlink your Kick or Twitch account; with a @member (or the user id of someone who
        left), theirs (Manage Server).

        Name the platform when linked on both: !unlink kick or !unlink twitch."""
        guild = guild_of(ctx)
        other = member if member is not None and member.id != ctx.author.id else None
        author = ctx.author
        if other is not None and not _manages(author):
            reply = (
                f"You need the Manage Server permission to unlink someone else. "
                f"{ctx.clean_prefix}unlink alone unlinks your own account."
            )
            await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        chosen = parse_platform(platform)
        if platform is not None and chosen is None:
            await ctx.send(
                render_linking.unlink_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS
            )
            return
        await ctx.defer()
        target = other or author
        if other is not None and not isinstance(other, discord.Member):
            # Someone who left: only a link they made here is this server's to remove (the
            # service refuses the rest); say so plainly rather than what they hold elsewhere.
            links = await asyncio.to_thread(self.linking.links_of, other.id)
            here = [link.platform for link in links if link.linked_in_guild_id == guild.id]
            if not here or chosen not in (None, *here):
                reply = render_linking.no_link_here(other, chosen)
                await ctx.send(reply, allowed_mentions=NO_MENTIONS)
                return
        if chosen is None:
            links = await asyncio.to_thread(self.linking.links_of, target.id)
            if len(links) > 1:
                reply = render_linking.unlink_which(links, ctx.clean_prefix, other)
                await ctx.send(reply, allowed_mentions=NO_MENTIONS)
                return
            if not links:
                await ctx.send(render_linking.not_linked(other), allowed_mentions=NO_MENTIONS)
                return
            chosen = links[0].platform
        # The linked role, the watchtime roles and the link log follow through the Discord
        # worker, which tries again while Discord fails and lists what it could not do.
        removed = await self.effects.unlink(
            guild.id, target.id, actor_id=author.id, platform=chosen
        )
        if removed is None:
            reply = render_linking.not_linked(other, chosen)
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)
            return
        await ctx.send(render_linking.unlinked(removed, other), allowed_mentions=NO_MENTIONS)

    # --- !linked --------------------------------------------------------------------------

    # A discord.User too, as !unlink takes: someone who left is named by their user id.
    @commands.hybrid_command(name="linked", ignore_extra=False)
    @commands.guild_only()
    @app_commands.describe(
        member="Show this member's links (or user id, for someone who left) instead of yours "
        "(Manage Server)"
    )
    async def linked(
        self, ctx: Context, member: discord.Member | discord.User | None = None
    ) -> None:
        """Show your linked Kick and Twitch accounts; with a @member (or the user id of someone
        who left), theirs (Manage Server)."""
        other = member if member is not None and member.id != ctx.author.id else None
        if other is not None and not _manages(ctx.author):
            reply = "You need the Manage Server permission to see someone else's links."
            await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        links = await asyncio.to_thread(self.linking.links_of, (other or ctx.author).id)
        if other is not None and not isinstance(other, discord.Member):
            # Someone who left: only what they linked here is this server's to see.
            links = [link for link in links if link.linked_in_guild_id == guild_of(ctx).id]
            if not links:
                reply = render_linking.no_link_here(other, None)
                await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
        reply = render_linking.linked_accounts(links, other)
        await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # --- !linkowner -----------------------------------------------------------------------

    @commands.hybrid_command(name="linkowner")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(account="A Kick or Twitch name: kick:name, twitch:name, or the name")
    async def linkowner(self, ctx: Context, *, account: str) -> None:
        """Who linked a Kick or Twitch account, to unlink it for them (Manage Server)."""
        guild = guild_of(ctx)
        links = await asyncio.to_thread(self.linking.holders_named, account)
        holders = {link.discord_user_id: guild.get_member(link.discord_user_id) for link in links}
        reply = render_linking.link_owners(account, links, holders, guild.id, ctx.clean_prefix)
        await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # --- !linkrole ------------------------------------------------------------------------

    @commands.hybrid_command(name="linkrole")
    @commands.guild_only()
    @manage_server()
    @app_commands.describe(role="The role linked members get, or off")
    async def linkrole(
        self,
        ctx: Context,
        role: Annotated[discord.Role | str | None, LinkedRoleArgument] = None,
    ) -> None:
        """Show or set the role linked members get: @role, or off (Manage Server)."""
        guild = guild_of(ctx)
        if role is None:
            settings = await asyncio.to_thread(self.linking.settings, guild.id)
            current = guild.get_role(settings.linked_role_id) if settings.linked_role_id else None
            problem = None if current is None else role_problem(current)
            reply = render_linking.linked_role_status(settings, current, ctx.clean_prefix, problem)
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)
            return
        if isinstance(role, str):
            await asyncio.to_thread(self.linking.set_linked_role, guild.id, None)
            await ctx.send(render_linking.LINKED_ROLE_OFF, allowed_mentions=NO_MENTIONS)
            return
        if role.is_default() or role.managed:
            reply = "That role can't be given to members; pick another one."
            await ctx.send(reply, allowed_mentions=NO_MENTIONS)
            return
        await asyncio.to_thread(self.linking.set_linked_role, guild.id, role.id)
        reply = render_linking.linked_role_set(role, role_problem(role))
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    # --- !linklogs ------------------------------------------------------------------------

    @commands.hybrid_group(name="linklogs", invoke_without_command=True, case_insensitive=True)
    @commands.guild_only()
    @manage_server()
    async def linklogs(self, ctx: Context) -> None:
        """Log link attempts in a channel: on, off or status (Manage Server)."""
        reply = render_linking.linklogs_usage(ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    # ignore_extra=False: "!linklogs on #mod-log" would log in this channel, not in #mod-log.
    @linklogs.command(name="on", ignore_extra=False, usage="(in the channel the log goes to)")
    @commands.guild_only()
    @manage_server()
    async def linklogs_on(self, ctx: Context) -> None:
        """Log link attempts in this channel (Manage Server)."""
        guild = guild_of(ctx)
        # Checked as every channel setting is, before it is saved: the log is posted as embeds.
        if isinstance(ctx.channel, PostableChannel):
            refusal = typed_channel_refusal(guild, str(ctx.channel.id), embeds=True)
        else:
            refusal = render_linking.LINKLOGS_TEXT_ONLY
        if refusal is not None:
            await ctx.send(refusal, allowed_mentions=NO_MENTIONS)
            return
        await asyncio.to_thread(self.linking.set_log_channel, guild.id, ctx.channel.id)
        await ctx.send(render_linking.linklogs_on(ctx.channel.id), allowed_mentions=NO_MENTIONS)

    @linklogs.command(name="off")
    @commands.guild_only()
    @manage_server()
    async def linklogs_off(self, ctx: Context) -> None:
        """Stop logging link attempts (Manage Server)."""
        guild = guild_of(ctx)
        await asyncio.to_thread(self.linking.set_log_channel, guild.id, None)
        await ctx.send(render_linking.LINKLOGS_OFF, allowed_mentions=NO_MENTIONS)

    @linklogs.command(name="status")
    @commands.guild_only()
    @manage_server()
    async def linklogs_status(self, ctx: Context) -> None:
        """Show where link attempts are logged (Manage Server)."""
        guild = guild_of(ctx)
        settings = await asyncio.to_thread(self.linking.settings, guild.id)
        channel_id = settings.log_channel_id
        channel = None if channel_id is None else guild_channel(ctx.bot, guild.id, channel_id)
        reply = render_linking.linklogs_status(
            settings,
            ctx.clean_prefix,
            channel_here=channel_id is None or channel is not None,
            refusal=None if channel is None else post_refusal(channel, guild.me, embeds=True),
        )
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)


def _manages(author: discord.abc.User) -> bool:
    return isinstance(author, discord.Member) and author.guild_permissions.manage_guild
