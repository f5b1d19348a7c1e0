"""Linking commands: !link, !unlink, !linkrole, !linklogs and the link panels.

A start link is personal (it links whoever opens it to the member it names), so it only ever
goes to that member: by DM after ``!link`` or a panel reaction, or in the ephemeral reply to
``/link`` and to the panel button. A channel reply never holds it.

Panels keep working after a restart: reactions arrive as raw events and the panel is looked up
in the database; the button has a fixed custom id and its view is registered at start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot import render_linking
from core.discord_bot.cogs.watchtime import guild_of
from core.discord_bot.outbound.linking import role_problem
from core.discord_bot.render import NO_MENTIONS
from core.features.linking.effects import LinkEffects
from core.features.linking.repository import AccountLink
from core.features.linking.service import (
    DEFAULT_PANEL_EMOJI,
    PANEL_BUTTON,
    PANEL_REACTION,
    LinkingService,
    UnlinkRefused,
)

log = logging.getLogger(__name__)
Context = commands.Context[commands.Bot]
LINK_COOLDOWN_SECONDS = 30.0
# The reply about closed DMs under a panel goes away on its own: the panel stays tidy.
PANEL_NOTICE_SECONDS = 60.0
OFF_WORDS = ("off", "none", "disable")


class LinkedRoleArgument(commands.Converter[discord.Role | str]):
    """A role of this server (mention, id or name), or ``off``."""

    async def convert(self, ctx: Context, argument: str) -> discord.Role | str:
        if argument.strip().lower() in OFF_WORDS:
            return "off"
        return await commands.RoleConverter().convert(ctx, argument.strip())


def panel_emoji(text: str, bot: commands.Bot) -> str | None:
    """The emoji ``text`` names, as reaction events will show it; None when it is no emoji
    the bot can react with (a custom one must come from a server the bot is in)."""
    text = text.strip()
    emoji = discord.PartialEmoji.from_str(text)
    if emoji.id is not None:
        return str(emoji) if bot.get_emoji(emoji.id) is not None else None
    if not text or len(text) > 16 or text.isascii() or any(ch.isspace() for ch in text):
        return None
    return text


def same_emoji(stored: str | None, seen: str) -> bool:
    # Discord drops the emoji variation selector in some places and keeps it in others.
    return stored is not None and stored.replace("\ufe0f", "") == seen.replace("\ufe0f", "")


class LinkButtonView(discord.ui.View):
    """The button panel's view. Its custom id is fixed, so one registered instance answers the
    button on every panel, old ones included."""

    def __init__(self, cog: LinkingCog) -> None:
        super().__init__(timeout=None)
        self.cog = cog

    @discord.ui.button(
        label=render_linking.LINK_LABEL,
        style=discord.ButtonStyle.primary,
        custom_id=render_linking.PANEL_BUTTON_ID,
    )
    async def start(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.cog.answer_button(interaction)


class LinkingCog(commands.Cog, name="Linking"):
    """Link your Discord account to your Kick account, so your Kick watchtime counts here."""

    def __init__(self, linking: LinkingService, effects: LinkEffects) -> None:
        self.linking = linking
        self.effects = effects
        self._panel_cooldown = commands.CooldownMapping.from_cooldown(
            1, LINK_COOLDOWN_SECONDS, lambda payload: payload.user_id
        )

    def persistent_views(self) -> list[discord.ui.View]:
        """Views the bot registers at start so buttons on earlier messages keep working."""
        return [LinkButtonView(self)]

    # --- !link ----------------------------------------------------------------------------

    @commands.hybrid_command(name="link")
    @commands.guild_only()
    @commands.cooldown(1, LINK_COOLDOWN_SECONDS, commands.BucketType.user)
    async def link(self, ctx: Context) -> None:
        """Get your personal link to connect your Kick account (by DM; /link shows it here)."""
        guild = guild_of(ctx)
        private = ctx.interaction is not None
        if not self.linking.kick_configured:
            await ctx.send(render_linking.UNAVAILABLE, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await ctx.defer(ephemeral=private)
        link, current = await self._start_link(guild.id, ctx.author.id)
        if private:
            await ctx.send(
                render_linking.link_private(link, current),
                view=render_linking.link_view(link),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        if await self.send_link_by_dm(ctx.author, link, guild.name, current):
            await ctx.send(render_linking.LINK_SENT, allowed_mentions=NO_MENTIONS)
            return
        # They should be able to use /link right away, which shares this cooldown.
        if ctx.command is not None:
            ctx.command.reset_cooldown(ctx)
        await ctx.send(render_linking.DMS_CLOSED, allowed_mentions=NO_MENTIONS)

    async def _start_link(self, guild_id: int, user_id: int) -> tuple[str, AccountLink | None]:
        current = await asyncio.to_thread(self.linking.link_of, user_id)
        return self.linking.start_link(guild_id, user_id), current

    async def send_link_by_dm(
        self, user: discord.abc.User, link: str, guild_name: str, current: AccountLink | None
    ) -> bool:
        """DM the start link; False when the user's DMs are closed to the bot."""
        text = render_linking.link_dm(link, guild_name, current)
        try:
            await user.send(text, view=render_linking.link_view(link), allowed_mentions=NO_MENTIONS)
        except discord.Forbidden:
            return False
        except discord.HTTPException as exc:
            # Discord refuses link buttons to some addresses; the plain link still works.
            log.warning("could not DM a start link with a button (%s); retrying", exc)
            try:
                await user.send(text, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException:
                return False
        return True

    # --- !unlink --------------------------------------------------------------------------

    # ignore_extra=False: a mistyped member ("!unlink bobb") is refused, not taken as "unlink
    # me" (an optional argument that does not convert is skipped otherwise).
    @commands.hybrid_command(name="unlink", ignore_extra=False)
    @commands.guild_only()
    @app_commands.describe(member="Unlink this member instead of yourself (Manage Server)")
    async def unlink(self, ctx: Context, member: discord.Member | None = None) -> None:
        """Unlink your Kick account; with a @member, unlink theirs (Manage Server)."""
        guild = guild_of(ctx)
        other = member if member is not None and member.id != ctx.author.id else None
        author = ctx.author
        if other is not None and not (
            isinstance(author, discord.Member) and author.guild_permissions.manage_guild
        ):
            reply = (
                f"You need the Manage Server permission to unlink someone else. "
                f"{ctx.clean_prefix}unlink alone unlinks your own account."
            )
            await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await ctx.defer()
        target = other or author
        try:
            result = await self.effects.unlink(guild.id, target.id, actor_id=author.id)
        except UnlinkRefused as refused:
            await ctx.send(str(refused), allowed_mentions=NO_MENTIONS)
            return
        if result is None:
            await ctx.send(render_linking.not_linked(other), allowed_mentions=NO_MENTIONS)
            return
        reply = render_linking.unlinked(result.link, other, result.role)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    # --- !linkrole ------------------------------------------------------------------------

    @commands.hybrid_command(name="linkrole")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
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
            reply = render_linking.linked_role_status(settings, current, ctx.clean_prefix)
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
    @commands.has_guild_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    async def linklogs(self, ctx: Context) -> None:
        """Log link attempts in a channel: on, off or status (Manage Server)."""
        reply = render_linking.linklogs_usage(ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @linklogs.command(name="on")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    async def linklogs_on(self, ctx: Context) -> None:
        """Log link attempts in this channel (Manage Server)."""
        guild = guild_of(ctx)
        await asyncio.to_thread(self.linking.set_log_channel, guild.id, ctx.channel.id)
        await ctx.send(render_linking.linklogs_on(ctx.channel.id), allowed_mentions=NO_MENTIONS)

    @linklogs.command(name="off")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    async def linklogs_off(self, ctx: Context) -> None:
        """Stop logging link attempts (Manage Server)."""
        guild = guild_of(ctx)
        await asyncio.to_thread(self.linking.set_log_channel, guild.id, None)
        await ctx.send(render_linking.LINKLOGS_OFF, allowed_mentions=NO_MENTIONS)

    @linklogs.command(name="status")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    async def linklogs_status(self, ctx: Context) -> None:
        """Show where link attempts are logged (Manage Server)."""
        guild = guild_of(ctx)
        settings = await asyncio.to_thread(self.linking.settings, guild.id)
        reply = render_linking.linklogs_status(settings, ctx.clean_prefix)
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    # --- link panels ----------------------------------------------------------------------

    @commands.hybrid_command(name="setup_link_panel")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(emoji="The emoji members react with (default: 🔗)")
    async def setup_link_panel(self, ctx: Context, emoji: str = DEFAULT_PANEL_EMOJI) -> None:
        """Post and pin a panel; reacting to it gets members their link by DM (Manage Server)."""
        guild = guild_of(ctx)
        chosen = panel_emoji(emoji, ctx.bot)
        if chosen is None:
            await ctx.send(render_linking.BAD_EMOJI, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await ctx.defer(ephemeral=True)
        panel = await ctx.channel.send(
            embed=render_linking.reaction_panel(chosen), allowed_mentions=NO_MENTIONS
        )
        try:
            await panel.add_reaction(chosen)
        except discord.HTTPException:
            await panel.delete()
            await ctx.send(render_linking.BAD_EMOJI, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await self._store_panel(ctx, guild, panel, PANEL_REACTION, chosen)

    @commands.hybrid_command(name="setup_link_button")
    @commands.guild_only()
    @commands.has_guild_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    async def setup_link_button(self, ctx: Context) -> None:
        """Post and pin a panel with a button that shows members their link (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer(ephemeral=True)
        panel = await ctx.channel.send(
            embed=render_linking.button_panel(),
            view=LinkButtonView(self),
            allowed_mentions=NO_MENTIONS,
        )
        await self._store_panel(ctx, guild, panel, PANEL_BUTTON, None)

    async def _store_panel(
        self,
        ctx: Context,
        guild: discord.Guild,
        panel: discord.Message,
        kind: str,
        emoji: str | None,
    ) -> None:
        await asyncio.to_thread(
            lambda: self.linking.add_panel(
                guild_id=guild.id,
                channel_id=panel.channel.id,
                message_id=panel.id,
                kind=kind,
                emoji=emoji,
                created_by=ctx.author.id,
            )
        )
        try:
            await panel.pin(reason="Link panel")
            pinned = True
        except discord.HTTPException as exc:
            log.info("guild %s: could not pin a link panel (%s)", guild.id, exc)
            pinned = False
        reply = render_linking.panel_posted(pinned)
        await ctx.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        member = payload.member
        if payload.guild_id is None or member is None or member.bot:
            return
        panel = await asyncio.to_thread(self.linking.panel, payload.guild_id, payload.message_id)
        if panel is None or panel.kind != PANEL_REACTION:
            return
        if not same_emoji(panel.emoji, str(payload.emoji)):
            return
        guild = member.guild
        channel = guild.get_channel_or_thread(payload.channel_id)
        if isinstance(channel, discord.TextChannel | discord.Thread):
            await self._remove_reaction(channel, payload, member)
        if self._panel_cooldown.get_bucket(payload).update_rate_limit():
            return  # a link went out moments ago; don't send another for every click
        if not self.linking.kick_configured:
            await self._dm_quietly(member, render_linking.UNAVAILABLE)
            return
        link, current = await self._start_link(guild.id, member.id)
        if await self.send_link_by_dm(member, link, guild.name, current):
            return
        if isinstance(channel, discord.TextChannel | discord.Thread):
            await channel.send(
                render_linking.dms_closed_for(member.display_name),
                delete_after=PANEL_NOTICE_SECONDS,
                allowed_mentions=NO_MENTIONS,
            )

    async def _remove_reaction(
        self,
        channel: discord.TextChannel | discord.Thread,
        payload: discord.RawReactionActionEvent,
        member: discord.Member,
    ) -> None:
        try:
            await channel.get_partial_message(payload.message_id).remove_reaction(
                payload.emoji, member
            )
        except discord.HTTPException as exc:
            log.info(
                "guild %s: could not remove a reaction from a link panel (%s); I need the "
                "Manage Messages permission there",
                channel.guild.id,
                exc,
            )

    async def _dm_quietly(self, member: discord.Member, text: str) -> None:
        try:
            await member.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.info("guild %s: could not DM member %s", member.guild.id, member.id)

    async def answer_button(self, interaction: discord.Interaction) -> None:
        """The panel button: the link, in a reply only the presser sees."""
        guild = interaction.guild
        if guild is None:
            return
        if not self.linking.kick_configured:
            await interaction.response.send_message(
                render_linking.UNAVAILABLE, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        link, current = await self._start_link(guild.id, interaction.user.id)
        await interaction.response.send_message(
            render_linking.link_private(link, current),
            view=render_linking.link_view(link),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
