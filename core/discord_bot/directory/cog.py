"""Listeners that keep the directory true: every server at start (``on_guild_available``), and
each change Discord tells of (a server renamed, a role, channel or thread made, changed or
deleted, the bot added to a thread or removed from one, a member who came, changed name or
left). The writes run off the event loop; a failed write is logged, and the next event or start
writes the server again.

They also keep whether the bot is in each server (``GuildService.mark_left`` / ``mark_back``):
removed (``on_guild_remove``: kicked, banned, the server deleted) it stops serving the server's
chat and events; added again or seen at start, it serves them again. A Discord outage
(``on_guild_unavailable``) is not a removal and changes nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import discord
from discord.ext import commands

from core.discord_bot.directory.snapshot import member_of, members_of, snapshot_of
from core.features.directory.service import DirectoryService
from core.features.guilds.service import GuildService
from core.ownership.share import on_shard

log = logging.getLogger(__name__)


class DirectoryCog(commands.Cog):
    def __init__(self, directory: DirectoryService, guilds: GuildService | None = None) -> None:
        self.directory = directory
        self.guilds = guilds
        self.bot: commands.Bot | None = None

    def bind_bot(self, bot: commands.Bot) -> None:
        """The bot this cog is loaded in (``load_cogs`` calls it): ``on_ready`` reads its list
        of servers."""
        self.bot = bot

    async def _write(self, what: str, write: Callable[[], None]) -> None:
        try:
            await asyncio.to_thread(write)
        except Exception:
            log.warning("the server directory could not record %s", what, exc_info=True)

    async def record_server(self, guild: discord.Guild) -> None:
        snapshot = snapshot_of(guild)
        await self._write(f"server {guild.id}", lambda: self.directory.record_server(snapshot))

    async def record_everything(self, guild: discord.Guild) -> None:
        await self.record_server(guild)
        members = members_of(guild)
        await self._write(
            f"the members of server {guild.id}",
            lambda: self.directory.record_members(guild.id, members, complete=guild.chunked),
        )

    async def _in_server(self, guild: discord.Guild) -> None:
        guilds = self.guilds
        if guilds is not None:
            await self._write(f"server {guild.id} served", lambda: guilds.mark_back(guild.id))

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._in_server(guild)
        await self.record_everything(guild)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        # Each server at start (discord.py tells of each once its members are in the cache),
        # and a server that comes back after an outage.
        await self._in_server(guild)
        await self.record_everything(guild)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Servers that removed the bot while it was down: the bot recorded them before (the
        directory has them) but Discord no longer lists them. Only this process's shard is
        judged (another process's servers are not in its list); a server in an outage is
        still listed (unavailable), so it is not taken for one that left."""
        bot, guilds = self.bot, self.guilds
        if bot is None or guilds is None:
            return
        present = {guild.id for guild in bot.guilds}
        shard = (bot.shard_id, bot.shard_count) if bot.shard_count else None
        try:
            described = await asyncio.to_thread(self.directory.servers_described_by_bot)
        except Exception:
            log.warning("could not read which servers the bot was in", exc_info=True)
            return
        for guild_id in sorted(described - present):
            if not on_shard(guild_id, shard):
                continue
            log.info("server %s removed the bot while it was not running", guild_id)
            await self._write(f"server {guild_id} left", lambda g=guild_id: guilds.mark_left(g))
            await self._write(
                f"server {guild_id} left", lambda g=guild_id: self.directory.forget_server(g)
            )

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        await self.record_server(after)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        guilds = self.guilds
        if guilds is not None:
            await self._write(f"server {guild.id} left", lambda: guilds.mark_left(guild.id))
        await self._write(f"server {guild.id} left", lambda: self.directory.forget_server(guild.id))

    @commands.Cog.listener()
    async def on_guild_role_create(self, role: discord.Role) -> None:
        await self.record_server(role.guild)

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        await self.record_server(role.guild)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        await self.record_server(after.guild)

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        await self.record_server(channel.guild)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.record_server(channel.guild)

    @commands.Cog.listener()
    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        await self.record_server(after.guild)

    # Threads: made, changed (renamed, archived, locked), deleted, and the bot added to one or
    # removed from one (a private thread takes its posts only while it is a member).
    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        await self.record_server(thread.guild)

    @commands.Cog.listener()
    async def on_thread_join(self, thread: discord.Thread) -> None:
        await self.record_server(thread.guild)

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        await self.record_server(after.guild)

    @commands.Cog.listener()
    async def on_thread_delete(self, thread: discord.Thread) -> None:
        await self.record_server(thread.guild)

    @commands.Cog.listener()
    async def on_thread_remove(self, thread: discord.Thread) -> None:
        await self.record_server(thread.guild)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        await self._record_member(member)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        shown = (before.display_name, before.display_avatar) != (
            after.display_name,
            after.display_avatar,
        )
        if shown:
            await self._record_member(after)
        if after.id == after.guild.me.id and before.roles != after.roles:
            await self.record_server(after.guild)  # the bot's own roles: what it can give

    @commands.Cog.listener()
    async def on_member_remove(self, member: discord.Member) -> None:
        await self._write(
            f"member {member.id} left",
            lambda: self.directory.forget_member(member.guild.id, member.id),
        )

    async def _record_member(self, member: discord.Member) -> None:
        if member.bot:
            return
        entry = member_of(member)
        await self._write(
            f"member {member.id}", lambda: self.directory.record_members(member.guild.id, [entry])
        )
