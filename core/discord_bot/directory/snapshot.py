"""A server as the directory keeps it, read from discord.py's cache (pure: no I/O)."""

from __future__ import annotations

import discord

from core.discord_bot.common import post_refusal
from core.features.directory.repository import THREAD_SEPARATOR, Channel, Member, Role, Server
from core.features.directory.service import Snapshot

KINDS = {
    discord.ChannelType.text: "text",
    discord.ChannelType.news: "news",
    discord.ChannelType.voice: "voice",
    discord.ChannelType.stage_voice: "stage",
    discord.ChannelType.forum: "forum",
    discord.ChannelType.category: "category",
}


def snapshot_of(guild: discord.Guild) -> Snapshot:
    me = guild.me
    server = Server(
        guild.id,
        guild.name,
        guild.icon.key if guild.icon else None,
        None if me is None else me.guild_permissions.manage_roles,
    )
    roles = tuple(
        Role(
            role.id,
            role.name,
            role.position,
            role.colour.value,
            assignable=me is not None and role.is_assignable(),
            is_default=role.is_default(),
        )
        for role in guild.roles
    )
    channels = tuple(
        Channel(
            channel.id,
            channel.name,
            KINDS.get(channel.type, "other"),
            channel.position,
            can_post=_can_post(channel, me),
        )
        for channel in guild.channels
    )
    threads = tuple(
        _thread(thread, parent, me)
        for thread in guild.threads
        if (parent := thread.parent) is not None  # its channel not in the cache: left out
    )
    return Snapshot(server, roles, channels + threads)


def _can_post(channel: discord.abc.GuildChannel, me: discord.Member | None) -> bool:
    """Whether the bot may post its posts in ``channel``: see it, send messages and embed links.
    Slot calls, heist results and link log entries are embeds, which Discord refuses (403,
    Missing Permissions) without Embed Links; the directory holds one answer per channel, so
    a channel must take embeds to be offered for any setting."""
    if me is None or channel.type not in (discord.ChannelType.text, discord.ChannelType.news):
        return False
    allowed = channel.permissions_for(me)
    return allowed.view_channel and allowed.send_messages and allowed.embed_links


def _thread(
    thread: discord.Thread, parent: discord.abc.GuildChannel, me: discord.Member | None
) -> Channel:
    """A thread the bot knows (discord.py holds the server's active threads), named with its
    channel (``general \u203a Giveaways``) and placed with it. The bot may post there as the
    commands judge it for embeds (:func:`post_refusal`: Send Messages in Threads and Embed
    Links, open, and in a private thread only as its member), and must see it."""
    can_post = (
        me is not None
        and thread.permissions_for(me).view_channel
        and post_refusal(thread, me, embeds=True) is None
    )
    name = f"{parent.name} {THREAD_SEPARATOR} {thread.name}"
    return Channel(thread.id, name, "thread", parent.position, can_post=can_post)


def member_of(member: discord.Member) -> Member:
    return Member(member.id, member.display_name, avatar_of(member))


def avatar_of(member: discord.Member) -> str:
    """The picture Discord shows for the member, as ``<kind>:<key>``: ``g`` their avatar in this
    server, ``u`` their account's, ``d`` one of Discord's defaults. The key alone does not say
    which, and each lives at another address (the dashboard builds it: ``avatar_url``)."""
    if member.guild_avatar is not None:
        return f"g:{member.guild_avatar.key}"
    if member.avatar is not None:
        return f"u:{member.avatar.key}"
    return f"d:{member.default_avatar.key}"


def members_of(guild: discord.Guild) -> list[Member]:
    return [member_of(member) for member in guild.members if not member.bot]
