"""A server as the directory keeps it, read from discord.py's cache (pure: no I/O)."""

from __future__ import annotations

import discord

from core.features.directory.repository import Channel, Member, Role, Server
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
    return Snapshot(server, roles, channels)


def _can_post(channel: discord.abc.GuildChannel, me: discord.Member | None) -> bool:
    if me is None or channel.type not in (discord.ChannelType.text, discord.ChannelType.news):
        return False
    allowed = channel.permissions_for(me)
    return allowed.view_channel and allowed.send_messages


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
