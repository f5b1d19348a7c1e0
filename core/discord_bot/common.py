"""What every cog shares: the command context type, the Manage Server check
(:func:`manage_server`; :class:`ManagersCog` for a cog of managers' commands), the guild of a
command, the viewer argument (:data:`Viewer`, :data:`OptionalViewer`), a guild's channel to
post in (:func:`guild_channel`; a feature's posts there are
:class:`~core.discord_bot.channel_posts.ChannelPoster`'s), deleting the message that called a
command (:func:`delete_invocation`), a DM that may carry link buttons (:func:`send_dm`) and a
message for the caller alone (:func:`send_privately`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from core.discord_bot.render import NO_MENTIONS
from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.typed_numbers import discord_id

log = logging.getLogger(__name__)
Context = commands.Context[commands.Bot]
_Command = TypeVar("_Command")
_MEMBER_MENTION = re.compile(r"<@!?([0-9]{15,21})>")
_OTHER_MENTION = re.compile(r"<(@&|#)[0-9]{15,21}>")  # a role's or a channel's


PostableChannel = discord.TextChannel | discord.Thread

if TYPE_CHECKING:
    WholeRange = commands.Range
else:

    class WholeRange(commands.Range):
        """``commands.Range[int, low, high]`` reading the number as every other typed amount is
        read (:func:`~core.features.amounts.parse_whole_amount`: ASCII digits, ``1,500``), not
        as ``int()`` does: full-width or Arabic-Indic digits, ``+5`` and ``1_0`` are
        refused like a word. A minus sign reaches the range check, which names the range; so
        does a number too long to read. As a slash option it is Discord's integer range."""

        async def convert(self, ctx: Context, value: str) -> Any:
            word = value.strip()
            negative = word.startswith("-")
            try:
                number = parse_whole_amount(word[1:] if negative else word)
            except AmountNotUnderstood as exc:
                if exc.too_large:
                    raise commands.RangeError(word, minimum=self.min, maximum=self.max) from None
                raise commands.BadArgument(f"{word[:20]!r} is not a whole number") from None
            return await super().convert(ctx, str(-number if negative else number))


# The number of a draw, a rule or a call, as a command takes it: bounded, so a typed 20-digit
# number is refused as a number out of range rather than failing in the database. 2**53 - 1 is
# the largest whole number Discord lets a slash command's option take.
RECORD_MAX = 2**53 - 1
RecordNumber = WholeRange[int, 1, RECORD_MAX]

if TYPE_CHECKING:
    AnyWhole = WholeRange[int, -RECORD_MAX, RECORD_MAX]
else:

    class _AnyWhole(WholeRange):
        """Any whole number, read as :class:`WholeRange` reads it, for a command whose service
        checks the range and names it in words. One too long to read comes as -2**53 or 2**53,
        outside every such range, so it gets those words too (its RangeError named the range
        as "from -9007199254740991 up")."""

        async def convert(self, ctx: Context, value: str) -> Any:
            try:
                return await super().convert(ctx, value)
            except commands.RangeError:
                return -(2**53) if value.strip().startswith("-") else 2**53

    AnyWhole = _AnyWhole[int, -RECORD_MAX, RECORD_MAX]


def guild_channel(client: discord.Client, guild_id: int, channel_id: int) -> PostableChannel | None:
    """The channel, if the bot sees it and it belongs to ``guild_id``.

    A channel id comes from settings (``SLOT_CALLS_CHANNEL_ID`` is one channel of one server) or
    from an admin; a guild must never post into another server's channel, so the owner is
    always checked.
    """
    channel = client.get_channel(channel_id)
    if not isinstance(channel, PostableChannel) or channel.guild.id != guild_id:
        return None
    return channel


CHANNEL_NOT_HERE = (
    "That channel is not in this server, or it is an archived thread; pick one of the "
    "server's text channels or an open thread."
)
CHANNEL_AS_TYPED = "Type the channel as #channel or its id, with no spaces inside."


def typed_channel_refusal(guild: discord.Guild, value: str, *, embeds: bool = False) -> str | None:
    """Why the channel typed for a setting (``#channel``, its id) cannot take this server's
    posts, or None when it can. Text that names no channel at all (``none``, ``off``, a word)
    is None too: the setting's own checks answer it. A channel of another server, a voice
    channel or a category is refused here, before it is saved, not skipped at posting time."""
    text = value.strip()
    inner = text.removeprefix("<#").removesuffix(">")
    if not "".join(inner.split()).isdecimal():
        return None
    if not inner.isdecimal():  # "<# 123 >": a setting's own parse might read the id unchecked
        return CHANNEL_AS_TYPED
    channel_id = discord_id(text)
    channel = None if channel_id is None else guild.get_channel_or_thread(channel_id)
    if not isinstance(channel, PostableChannel):
        return CHANNEL_NOT_HERE
    return post_refusal(channel, guild.me, embeds=embeds)


def post_refusal(
    channel: PostableChannel, me: discord.Member, *, embeds: bool = False
) -> str | None:
    """Why the bot cannot post in ``channel``, in words naming what to change; None when it
    can. In a thread Discord asks for Send Messages in Threads (Send Messages is the parent
    channel's), takes no post at all while the thread is archived or locked, and none in a
    private thread the bot is not a member of."""
    if isinstance(channel, discord.Thread) and (channel.archived or channel.locked):
        state = "locked" if channel.locked else "archived"
        return (
            f"I can't post in {channel.mention}: the thread is {state}. "
            "Open it again, or pick another channel."
        )
    if not_a_member(channel):
        return (
            f"I'm not in the private thread {channel.mention}: add me to it (mention me there), "
            "or pick another channel."
        )
    permissions = channel.permissions_for(me)
    if not _send_allowed(channel, permissions) or (embeds and not permissions.embed_links):
        return f"I can't post in {channel.mention}; give me {needed_here(channel, embeds)} there."
    return None


def needed_here(channel: PostableChannel, embeds: bool = True) -> str:
    """:func:`needed_to_post`, with View Channel first when the bot cannot see ``channel``:
    without it Discord takes nothing from the bot there, whatever else it is given."""
    needed = needed_to_post(channel, embeds)
    me = getattr(getattr(channel, "guild", None), "me", None)
    if me is None or channel.permissions_for(me).view_channel:
        return needed
    return f"View Channel, {needed}" if " and " in needed else f"View Channel and {needed}"


def not_a_member(channel: object) -> bool:
    """Whether ``channel`` is a private thread the bot has not joined: Discord takes no post
    from it there, whatever its permissions (discord.py's ``permissions_for`` gives a thread
    its parent's permissions and does not look at membership). ``Thread.me`` is the bot's own
    thread member, which Discord sends with each thread the bot is in."""
    return (
        isinstance(channel, discord.Thread)
        and channel.type == discord.ChannelType.private_thread
        and channel.me is None
    )


def _send_allowed(channel: object, permissions: discord.Permissions) -> bool:
    """Whether ``permissions`` let the bot send a message in ``channel`` (a thread asks for
    Send Messages in Threads)."""
    if isinstance(channel, discord.Thread):
        return permissions.send_messages_in_threads
    return permissions.send_messages


# Discord's JSON error codes for a post in a thread that takes none. A locked thread is
# answered "Thread is archived" (50083) too (discord/discord-api-docs#6884).
_CLOSED_THREAD = {50083: "archived or locked", 160005: "locked"}


def closed_thread(error: discord.HTTPException) -> str | None:
    """The thread's state in words (``archived or locked``) when Discord refused a post because
    of it (it was open when it was picked, and was closed since); None for any other refusal."""
    return _CLOSED_THREAD.get(error.code)


def needed_to_post(channel: object, embeds: bool = True) -> str:
    """The permissions the bot needs to post in ``channel``, as Discord names them."""
    send = "Send Messages in Threads" if isinstance(channel, discord.Thread) else "Send Messages"
    return f"{send} and Embed Links" if embeds else send


_MANAGE_SERVER = commands.has_guild_permissions(manage_guild=True)


def manage_server() -> Callable[[_Command], _Command]:
    """For members with Manage Server, in a server. A discord.py check, so ``!help`` lists the
    command only to them and anyone else gets the "you need Manage Server" reply (in a DM: "only
    in a server"); and the slash command's default permission, so Discord offers it to them
    alone (a subcommand inherits its group's)."""
    default = app_commands.default_permissions(manage_guild=True)

    def decorate(command: _Command) -> _Command:
        return _MANAGE_SERVER(default(command))

    return decorate


async def require_manage_server(ctx: Context) -> None:
    """The same check, for the part of a command everyone may use that only managers may go on
    with (``!points rate`` shows the rates to all and changes one for them), and for a cog whose
    every command is theirs (``cog_check``)."""
    await _MANAGE_SERVER.predicate(ctx)  # raises NoPrivateMessage or MissingPermissions


class ManagersCog(commands.Cog):
    """A cog whose every command is for the server's managers (Manage Server), in a server."""

    async def cog_check(self, ctx: Context) -> bool:  # type: ignore[override]
        """The shared check (:func:`require_manage_server`), so !help lists the cog's commands
        to managers only."""
        await require_manage_server(ctx)
        return True


def guild_of(ctx: Context) -> discord.Guild:
    """The command's server; the guild_only check has already refused direct messages."""
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    return ctx.guild


class NotAViewer(commands.BadArgument):
    """A viewer argument that names something else (a role, a channel); its words say so."""


class ViewerArgument(commands.Converter[discord.Member | str]):
    """A ``@member`` mention becomes that member; anything else is a Kick or Twitch name.

    Only real mentions count as members: a bare word is a viewer's name even when a Discord
    member happens to share it. Members come from the cache, which the members intent keeps
    complete, so a lookup never waits on a gateway query.
    """

    async def convert(self, ctx: Context, argument: str) -> discord.Member | str:
        argument = argument.strip()
        other = _OTHER_MENTION.fullmatch(argument)
        if other is not None:
            what = "a role" if other.group(1) == "@&" else "a channel"
            raise NotAViewer(f"That's {what}: mention a member or type a Kick or Twitch name.")
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


# A command's viewer argument: a @member or a Kick/Twitch name.
Viewer = Annotated[discord.Member | str, ViewerArgument]
# The same, left out for the caller. Not ``Viewer | None``: discord.py would take a mention it
# cannot find (someone who left) for "left out" instead of refusing it.
OptionalViewer = Annotated[discord.Member | str | None, ViewerArgument]


async def delete_invocation(ctx: Context) -> bool:
    """Delete the message that called the command (it held a secret); False when Discord
    refused (no Manage Messages)."""
    try:
        await ctx.message.delete()
    except discord.HTTPException:
        return False
    return True


async def send_dm(
    user: discord.abc.User, text: str, *, view: discord.ui.View | None = None, what: str
) -> bool:
    """DM ``text``, with ``view``'s link buttons when given; False when the user's DMs are closed
    to the bot. Discord refuses link buttons to some addresses: then the text alone is sent (its
    link still works), and ``what`` names the message in the warning."""
    if view is None:
        try:
            await user.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            return False
        return True
    try:
        await user.send(text, view=view, allowed_mentions=NO_MENTIONS)
    except discord.Forbidden:
        return False
    except discord.HTTPException as exc:
        log.warning("could not DM %s with a button (%s); retrying", what, exc)
        try:
            await user.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            return False
    return True


async def send_privately(
    ctx: Context,
    text: str,
    *,
    dm_text: str | None = None,
    view: discord.ui.View | None = None,
    what: str,
) -> bool:
    """Send ``text`` to the caller alone: as the ephemeral reply to a slash command, else by DM
    (``dm_text`` when the DM words it otherwise). False when the caller's DMs are closed to the
    bot; ``what`` names the message as :func:`send_dm` does."""
    if ctx.interaction is not None:
        await ctx.send(text, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return True
    return await send_dm(ctx.author, text if dm_text is None else dm_text, view=view, what=what)
