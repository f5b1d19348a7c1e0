"""Link panels: a pinned message whose reaction or buttons get members their start links.

A panel offers the platforms the guild has (``LinkingService.platforms_for``): a reaction panel
DMs a link per platform, a button panel carries a button per platform. Panels keep working after
a restart: reactions arrive as raw events and the panel is looked up in the database; the
buttons have fixed custom ids (one per platform, plus the Kick-only button of panels posted
before Twitch) and one view holding them all is registered at start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from core.discord_bot.common import Context, guild_of, manage_server, send_dm
from core.discord_bot.cooldowns import Cooldowns
from core.discord_bot.linking import panel_words
from core.discord_bot.linking import render as render_linking
from core.discord_bot.render import NO_MENTIONS
from core.events import Platform
from core.features.linking.platforms import LINKABLE
from core.features.linking.service import (
    DEFAULT_PANEL_EMOJI,
    PANEL_BUTTON,
    PANEL_REACTION,
    LinkingService,
)

if TYPE_CHECKING:
    from core.features.linking.repository import AccountLink

log = logging.getLogger(__name__)
LINK_COOLDOWN_SECONDS = 30.0
# The reply about closed DMs under a panel goes away on its own: the panel stays tidy.
PANEL_NOTICE_SECONDS = 60.0


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
    """Link buttons, a button per platform. Custom ids are fixed, so the one instance the bot
    registers at start (``platforms`` None: every button ever posted, the old Kick-only one
    included) answers the buttons of every panel, old ones included."""

    def __init__(self, panels: LinkPanels, platforms: tuple[Platform, ...] | None = None) -> None:
        super().__init__(timeout=None)
        self.panels = panels
        if platforms is None:
            self._add(render_linking.PANEL_BUTTON_ID, Platform.KICK)
            platforms = LINKABLE
        for platform in platforms:
            self._add(render_linking.PANEL_PLATFORM_BUTTON_IDS[platform], platform)

    def _add(self, custom_id: str, platform: Platform) -> None:
        button: discord.ui.Button[LinkButtonView] = discord.ui.Button(
            label=render_linking.link_label(platform),
            style=discord.ButtonStyle.primary,
            custom_id=custom_id,
        )

        async def pressed(interaction: discord.Interaction) -> None:
            await self.panels.answer_button(interaction, platform)

        button.callback = pressed  # type: ignore[method-assign]
        self.add_item(button)


class LinkPanels:
    """The panel half of the Linking cog (``cog.py`` mixes it in; discord.py collects the
    commands and listeners of a cog's bases)."""

    linking: LinkingService
    _panel_cooldown: Cooldowns

    async def _start_link(
        self, guild_id: int, user_id: int, platform: Platform
    ) -> tuple[str, AccountLink | None]:
        current = await asyncio.to_thread(self.linking.link_of, user_id, platform)
        return self.linking.start_link(guild_id, user_id, platform), current

    async def send_link_by_dm(
        self,
        user: discord.abc.User,
        link: str,
        guild_name: str,
        current: AccountLink | None,
        platform: Platform = Platform.KICK,
    ) -> bool:
        """DM the start link; False when the user's DMs are closed to the bot."""
        text = render_linking.link_dm(link, guild_name, current, platform)
        view = render_linking.link_view(link, platform)
        return await send_dm(user, text, view=view, what="a start link")

    async def _panel_platforms(self, guild_id: int) -> tuple[Platform, ...]:
        offered = await asyncio.to_thread(self.linking.platforms_for, guild_id)
        return offered or (Platform.KICK,)

    @commands.hybrid_command(name="setup_link_panel")
    @commands.guild_only()
    @manage_server()
    @discord.app_commands.default_permissions(manage_guild=True)
    @discord.app_commands.describe(emoji="The emoji members react with (default: 🔗)")
    async def setup_link_panel(self, ctx: Context, emoji: str = DEFAULT_PANEL_EMOJI) -> None:
        """Post and pin a panel; reacting to it gets members their link by DM (Manage Server)."""
        guild = guild_of(ctx)
        chosen = panel_emoji(emoji, ctx.bot)
        if chosen is None:
            await ctx.send(panel_words.BAD_EMOJI, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await ctx.defer(ephemeral=True)
        platforms = await self._panel_platforms(guild.id)
        panel = await ctx.channel.send(
            embed=panel_words.reaction_panel(chosen, platforms), allowed_mentions=NO_MENTIONS
        )
        try:
            await panel.add_reaction(chosen)
        except discord.HTTPException as exc:
            await panel.delete()
            # Forbidden: no Add Reactions (or Read Message History) here; else the emoji.
            refusal = (
                panel_words.no_reactions_here(ctx.clean_prefix)
                if isinstance(exc, discord.Forbidden)
                else panel_words.BAD_EMOJI
            )
            await ctx.send(refusal, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await self._store_panel(ctx, guild, panel, PANEL_REACTION, chosen)

    @commands.hybrid_command(name="setup_link_button")
    @commands.guild_only()
    @manage_server()
    @discord.app_commands.default_permissions(manage_guild=True)
    async def setup_link_button(self, ctx: Context) -> None:
        """Post and pin a panel with a button per platform that shows members their link
        (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer(ephemeral=True)
        platforms = await self._panel_platforms(guild.id)
        panel = await ctx.channel.send(
            embed=panel_words.button_panel(platforms),
            view=LinkButtonView(self, platforms),
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
        reply = panel_words.panel_posted(pinned)
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
        # Decided before the reaction goes: a member whose reaction is taken away is always
        # told something. Per server: another server's panel sends that server's link.
        wait = self._panel_cooldown.retry_after((guild.id, member.id), LINK_COOLDOWN_SECONDS)
        if isinstance(channel, discord.TextChannel | discord.Thread):
            await self._remove_reaction(channel, payload, member)
        if wait is not None:
            # A link went out moments ago: not another for every click, but where it is (once).
            if self._panel_cooldown.retry_after(("reminded", guild.id, member.id), wait) is None:
                await self._dm_quietly(member, render_linking.link_sent_recently(guild.name, wait))
            return
        platforms = await asyncio.to_thread(self.linking.platforms_for, guild.id)
        if not platforms:
            await self._dm_quietly(member, render_linking.UNAVAILABLE)
            return
        for platform in platforms:
            link, current = await self._start_link(guild.id, member.id, platform)
            if not await self.send_link_by_dm(member, link, guild.name, current, platform):
                break
        else:
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

    async def answer_button(self, interaction: discord.Interaction, platform: Platform) -> None:
        """A panel button (or a button under ``!link``'s choice): the link for ``platform``, in
        a reply only the presser sees."""
        guild = interaction.guild
        if guild is None:
            return
        if platform not in self.linking.configured_platforms():
            await interaction.response.send_message(
                render_linking.unavailable_for(platform),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        link, current = await self._start_link(guild.id, interaction.user.id, platform)
        await interaction.response.send_message(
            render_linking.link_private(link, current, platform),
            view=render_linking.link_view(link, platform),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
