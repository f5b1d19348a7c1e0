"""Small helpers over dpytest: find a member, say something, collect the bot's replies."""

from __future__ import annotations

import contextlib

import discord
import discord.ext.test as dpytest
from discord.ext import commands


def member_of(guild: discord.Guild, name: str) -> discord.Member:
    member = discord.utils.get(guild.members, name=name)
    assert member is not None, f"no member {name} in {guild.name}"
    return member


async def say(content: str, member: discord.Member, channel: discord.abc.Messageable | None = None):
    """``member`` sends ``content`` (in their guild's text channel); returns the bot's replies."""
    if channel is None:
        channel = member.guild.text_channels[0]
    # dpytest re-raises the command's error after our handler has replied; the reply is
    # what the user sees, so that is what the tests check.
    with contextlib.suppress(commands.CommandError):
        await dpytest.message(content, channel=channel, member=member)
    replies = []
    while not dpytest.sent_queue.empty():
        replies.append(dpytest.get_message())
    return replies
