"""Slot call commands: !slotcalls, !slotlist, !pickslot, !clearslots and !callblacklist.

Viewers call slots in stream chat (``!call`` / ``!sr``, see core/features/slot_calls/chat.py);
these commands let the server's moderators (Manage Server) run the queue from Discord.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.common import (
    AnyWhole,
    Context,
    ManagersCog,
    WholeRange,
    closed_thread,
    guild_channel,
    guild_of,
    needed_to_post,
    post_refusal,
)
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.slot_calls import render
from core.discord_bot.slot_calls.buttons import SlotCallButtons, dynamic_item
from core.features.guilds.service import GuildService
from core.features.slot_calls.blacklist import calls_closed
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.names import blacklist_name
from core.features.slot_calls.service import (
    InvalidSetting,
    SlotCallService,
    SlotCallStatus,
)
from core.features.typed_numbers import whole_in

log = logging.getLogger(__name__)
OnOff = Literal["on", "off"]
T = TypeVar("T")


class SlotCallsCog(ManagersCog, name="Slot calls"):
    """Slots viewers ask for in stream chat with !call or !sr, and picking one of them."""

    def __init__(
        self, service: SlotCallService, guilds: GuildService, chat: SlotCallChat | None = None
    ) -> None:
        """``chat`` announces picks in the stream's chat; None leaves that out."""
        self.service = service
        self.guilds = guilds
        self.chat = chat

    def dynamic_items(self) -> list[type[discord.ui.DynamicItem[Any]]]:
        """The buttons on slot call posts (Pick, Skip, Clear all), for posts of any age."""
        return [dynamic_item(SlotCallButtons(self.service, self.chat))]

    # --- settings --------------------------------------------------------------------------

    @commands.hybrid_group(name="slotcalls", invoke_without_command=True, case_insensitive=True)
    @app_commands.default_permissions(manage_guild=True)
    async def slotcalls(self, ctx: Context) -> None:
        """Turn slot calls from chat on or off and choose where they go (Manage Server)."""
        await ctx.send(render.slotcalls_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @slotcalls.command(name="on")
    async def slotcalls_on(self, ctx: Context) -> None:
        """Let viewers call slots with !call or !sr in chat (Manage Server)."""
        await self._set_enabled(ctx, enabled=True)

    @slotcalls.command(name="off")
    async def slotcalls_off(self, ctx: Context) -> None:
        """Refuse slot calls from chat; open calls stay listed (Manage Server)."""
        await self._set_enabled(ctx, enabled=False)

    @slotcalls.command(name="status")
    async def slotcalls_status(self, ctx: Context) -> None:
        """Show whether slot calls are on, where they go and the limits (Manage Server)."""
        guild = guild_of(ctx)
        status = await asyncio.to_thread(self.service.status, guild.id)
        reply = render.status_text(
            status,
            ctx.clean_prefix,
            channel_here=self._channel_here(ctx, status),
            cannot_post=self._cannot_post(ctx, status),
        )
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @slotcalls.command(name="channel")
    @app_commands.describe(channel="Where slot calls are posted")
    async def slotcalls_channel(self, ctx: Context, channel: discord.TextChannel) -> None:
        """Post slot calls in the channel you name (Manage Server)."""
        guild = guild_of(ctx)
        me = guild.me
        permissions = channel.permissions_for(me)
        if not (permissions.send_messages and permissions.embed_links):
            await ctx.send(render.channel_not_writable(channel), allowed_mentions=NO_MENTIONS)
            return
        await self._ensure_guild(guild)
        status = await asyncio.to_thread(self.service.set_channel, guild.id, channel.id)
        await ctx.send(render.channel_changed(status), allowed_mentions=NO_MENTIONS)

    # ignore_extra=False: "!slotcalls cooldown 5 minutes" is refused, not a 5-second cooldown.
    @slotcalls.command(name="cooldown", ignore_extra=False)
    @app_commands.describe(seconds="Seconds a viewer waits between calls (0 to 3600)")
    async def slotcalls_cooldown(self, ctx: Context, seconds: AnyWhole) -> None:
        """How long each viewer waits between slot calls (Manage Server)."""
        await self._change(ctx, self.service.set_cooldown, seconds, render.cooldown_changed)

    @slotcalls.command(name="limit")
    @app_commands.describe(limit="Open calls each viewer may have (1 to 100), or off")
    async def slotcalls_limit(self, ctx: Context, limit: str) -> None:
        """How many open calls each viewer may have; off for no limit (Manage Server)."""
        value = whole_in(limit)  # ASCII digits within BIGINT, however many zeros lead
        if limit.strip().lower() in ("off", "none") or value == 0:
            value = None
        elif value is None:
            raise commands.BadArgument("a number or off")
        await self._change(ctx, self.service.set_max_open, value, render.limit_changed)

    @slotcalls.command(name="requirelink")
    @app_commands.describe(setting="on: only viewers with a linked account may call slots")
    async def slotcalls_requirelink(self, ctx: Context, setting: OnOff) -> None:
        """Whether viewers must link their account before calling slots (Manage Server)."""
        required = setting == "on"
        await self._change(
            ctx, self.service.set_require_link, required, render.require_link_changed
        )

    @slotcalls.command(name="sr")
    @app_commands.describe(setting="off: !sr is left to a song request bot; only !call calls")
    async def slotcalls_sr(self, ctx: Context, setting: OnOff) -> None:
        """Whether !sr in chat is a slot call too, or left to a song request bot (Manage
        Server)."""
        await self._change(
            ctx, self.service.set_answer_sr, setting == "on", render.answer_sr_changed
        )

    async def _set_enabled(self, ctx: Context, *, enabled: bool) -> None:
        guild = guild_of(ctx)
        await self._ensure_guild(guild)
        status = await asyncio.to_thread(self.service.set_enabled, guild.id, enabled)
        reply = render.enabled_changed(
            status,
            ctx.clean_prefix,
            channel_here=self._channel_here(ctx, status),
            cannot_post=self._cannot_post(ctx, status),
        )
        await ctx.send(reply, allowed_mentions=NO_MENTIONS)

    @staticmethod
    def _channel_here(ctx: Context, status: SlotCallStatus) -> bool:
        """Whether calls go to a channel of this server, when they go anywhere: the stored one
        may be deleted, and SLOT_CALLS_CHANNEL_ID is one channel of one server."""
        if status.channel_id is None:
            return True
        return guild_channel(ctx.bot, guild_of(ctx).id, status.channel_id) is not None

    @staticmethod
    def _cannot_post(ctx: Context, status: SlotCallStatus) -> str | None:
        """Why the bot may not post the calls (embeds) in their channel of this server (a
        permission taken since, SLOT_CALLS_CHANNEL_ID never checked, a thread closed since);
        None when it may, or when they go to no channel here."""
        guild = guild_of(ctx)
        if status.channel_id is None:
            return None
        channel = guild_channel(ctx.bot, guild.id, status.channel_id)
        return None if channel is None else post_refusal(channel, guild.me, embeds=True)

    async def _change(
        self,
        ctx: Context,
        setter: Callable[[int, T], SlotCallStatus],
        value: T,
        describe: Callable[[SlotCallStatus], str],
    ) -> None:
        guild = guild_of(ctx)
        try:
            status = await asyncio.to_thread(setter, guild.id, value)
        except InvalidSetting as refused:
            await ctx.send(str(refused), allowed_mentions=NO_MENTIONS)
            return
        await ctx.send(describe(status), allowed_mentions=NO_MENTIONS)

    async def _ensure_guild(self, guild: discord.Guild) -> None:
        # Chat answers name the server ("type !link in <server>'s Discord"), so keep its name.
        await asyncio.to_thread(self.guilds.ensure_guild, guild.id, guild.name)

    # --- the queue -------------------------------------------------------------------------

    @commands.hybrid_command(name="slotlist")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(page="Which page of the list (10 calls each)")
    async def slotlist(self, ctx: Context, page: WholeRange[int, 1, 10_000] = 1) -> None:
        """List the open slot calls, oldest first (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        total = await asyncio.to_thread(self.service.count_open, guild.id)
        if total == 0:
            await ctx.send(render.NO_OPEN_CALLS, allowed_mentions=NO_MENTIONS)
            return
        if page > render.page_count(total):
            await ctx.send(render.no_such_page(page, total), allowed_mentions=NO_MENTIONS)
            return
        offset = (page - 1) * render.PAGE_SIZE
        calls = await asyncio.to_thread(self.service.open_calls, guild.id, render.PAGE_SIZE, offset)
        embed = render.slotlist_embed(calls, page=page, total=total, prefix=ctx.clean_prefix)
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(name="pickslot")
    @app_commands.default_permissions(manage_guild=True)
    @commands.max_concurrency(1, commands.BucketType.guild)
    async def pickslot(self, ctx: Context) -> None:
        """Pick one open slot call at random and announce it here and in chat (Manage Server)."""
        guild = guild_of(ctx)
        await ctx.defer()
        pick = await asyncio.to_thread(self.service.pick, guild.id, ctx.author.id)
        if pick is None:
            await ctx.send(render.NOTHING_TO_PICK, allowed_mentions=NO_MENTIONS)
            return
        member = (
            guild.get_member(pick.call.discord_user_id)
            if pick.call.discord_user_id is not None
            else None
        )
        embed = render.pick_embed(pick, member)
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)
        await self._mirror_pick(ctx, pick.channel_id, embed)
        if self.chat is not None:
            await self.chat.announce_pick(pick)

    async def _mirror_pick(
        self, ctx: Context, channel_id: int | None, embed: discord.Embed
    ) -> None:
        """Show the pick in the slot call channel too, when it was made somewhere else."""
        guild = guild_of(ctx)
        if channel_id is None or channel_id == ctx.channel.id:
            return
        channel = guild_channel(ctx.bot, guild.id, channel_id)
        if channel is None:
            return
        try:
            await channel.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("guild %s: could not post the pick in %s: %s", guild.id, channel_id, exc)
            state = closed_thread(exc)
            if isinstance(exc, discord.Forbidden) or state is not None:
                # Viewers watch that channel for the pick: the moderator who made it hears why.
                why = post_refusal(channel, guild.me, embeds=True) or (
                    f"the thread is {state}. Open it again, or pick another channel."
                    if state is not None
                    else f"give me {needed_to_post(channel)} there."
                )
                await ctx.send(
                    f"I could not show the pick in {channel.mention}: {why}",
                    allowed_mentions=NO_MENTIONS,
                )

    @commands.hybrid_command(name="clearslots")
    @app_commands.default_permissions(manage_guild=True)
    async def clearslots(self, ctx: Context) -> None:
        """Close every open slot call (Manage Server)."""
        guild = guild_of(ctx)
        count = await asyncio.to_thread(self.service.clear, guild.id, ctx.author.id)
        await ctx.send(render.cleared(count), allowed_mentions=NO_MENTIONS)

    # --- blacklist -------------------------------------------------------------------------

    @commands.hybrid_group(name="callblacklist", invoke_without_command=True, case_insensitive=True)
    @app_commands.default_permissions(manage_guild=True)
    async def callblacklist(self, ctx: Context) -> None:
        """Keep viewers from calling slots (Manage Server)."""
        await ctx.send(render.blacklist_usage(ctx.clean_prefix), allowed_mentions=NO_MENTIONS)

    @callblacklist.command(name="add")
    @app_commands.describe(
        name="Their Kick or Twitch name (kick:name or twitch:name for one platform)",
        reason="Why (shown in the list)",
    )
    async def callblacklist_add(
        self, ctx: Context, name: str, *, reason: str | None = None
    ) -> None:
        """Ignore this viewer's slot calls from now on, quietly (Manage Server)."""
        guild = guild_of(ctx)
        try:
            added = await asyncio.to_thread(
                lambda: self.service.blacklist.add(
                    guild.id, name, added_by=ctx.author.id, reason=reason
                )
            )
        except InvalidSetting as refused:
            await ctx.send(str(refused), allowed_mentions=NO_MENTIONS)
            return
        await ctx.send(
            render.blacklisted(blacklist_name(name), is_new=added.is_new)
            + calls_closed(added.closed_calls),
            allowed_mentions=NO_MENTIONS,
        )

    @callblacklist.command(name="remove")
    @app_commands.describe(name="Their Kick or Twitch name (kick:name or twitch:name)")
    async def callblacklist_remove(self, ctx: Context, name: str) -> None:
        """Let this viewer call slots again (Manage Server)."""
        guild = guild_of(ctx)
        try:
            removed = await asyncio.to_thread(self.service.blacklist.remove, guild.id, name)
        except InvalidSetting as refused:
            await ctx.send(str(refused), allowed_mentions=NO_MENTIONS)
            return
        await ctx.send(
            render.unblacklisted(blacklist_name(name), removed=removed),
            allowed_mentions=NO_MENTIONS,
        )

    @callblacklist.command(name="list")
    async def callblacklist_list(self, ctx: Context) -> None:
        """Show who may not call slots (Manage Server)."""
        guild = guild_of(ctx)
        entries = await asyncio.to_thread(self.service.blacklist.entries, guild.id)
        await ctx.send(render.blacklist_text(entries), allowed_mentions=NO_MENTIONS)
