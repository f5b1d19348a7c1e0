"""What every cog shares: the command context type, the guild of a command, the viewer argument."""

from __future__ import annotations

import re

import discord
from discord.ext import commands

Context = commands.Context[commands.Bot]
_MEMBER_MENTION = re.compile(r"<@!?([0-9]{15,21})>")


def guild_of(ctx: Context) -> discord.Guild:
    """The command's server; the guild_only check has already refused direct messages."""
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    return ctx.guild


class ViewerArgument(commands.Converter[discord.Member | str]):
    """A ``@member`` mention becomes that member; anything else is a Kick name.

    Only real mentions count as members: a bare word is a Kick name even when a Discord member
    happens to share it. Members come from the cache, which the members intent keeps complete,
    so a lookup never waits on a gateway query.
    """

    async def convert(self, ctx: Context, argument: str) -> discord.Member | str:
        argument = argument.strip()
        mention = _MEMBER_MENTION.fullmatch(argument)
        if mention is None:
            return argument.removeprefix("@")
        member_id = int(mention.group(1))
        member = (ctx.guild.get_member(member_id) if ctx.guild else None) or discord.utils.get(
            ctx.message.mentions, id=member_id
        )
        if not isinstance(member, discord.Member):
            raise commands.MemberNotFound(argument)
        return member
