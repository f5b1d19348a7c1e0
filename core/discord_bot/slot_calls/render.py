"""What the bot says about slot calls: embeds and texts built from plain values.

Slot names and viewer names come from stream chat, so every one passes :func:`literal`
(markdown, mentions and other ``<...>`` markup shown literally); invisible characters were dropped
before they were stored.
"""

from __future__ import annotations

import math

import discord

from core.discord_bot.render import inert, truncate
from core.events import utc
from core.features.slot_calls.blacklist_rows import BlacklistEntry
from core.features.slot_calls.repository import SlotCall
from core.features.slot_calls.service import Pick, SlotCallStatus

PAGE_SIZE = 10
CALL_COLOUR = discord.Colour.gold()
PICK_COLOUR = discord.Colour.green()
EMBED_DESCRIPTION_LIMIT = 4096
MESSAGE_LIMIT = 2000
LISTED_SLOT_NAME = 120  # characters of a slot name and of a viewer name in !slotlist
LISTED_USERNAME = 60


def literal(text: str) -> str:
    """Chat text shown as typed. Beyond :func:`inert`, every ``<`` is escaped: channel links
    (``<#id>``), timestamps (``<t:...>``), slash command links and custom emoji ping nobody, so
    escape_mentions keeps them, yet Discord would render them. And every ``://`` is escaped, so
    an address a viewer typed (``!call https://scam.example``) is no link for the moderators to
    click in the bot's post: it reads the same, but Discord links only an unbroken
    ``https://``."""
    return inert(text).replace("<", "\\<").replace("://", "\\://")


def who(call: SlotCall, member: discord.abc.User | None) -> str:
    """``name (Kick)``, and the linked Discord member when they are in this server."""
    platform = str(call.platform).capitalize()
    text = f"{literal(call.username)} ({platform})"
    return f"{text}\n{member.mention}" if member is not None else text


def when(call: SlotCall) -> str:
    moment = utc(call.called_at)
    return f"{discord.utils.format_dt(moment, 'T')} ({discord.utils.format_dt(moment, 'R')})"


def call_embed(call: SlotCall, position: int, member: discord.abc.User | None) -> discord.Embed:
    embed = discord.Embed(
        title=f"Slot call #{position}",
        description=f"**{literal(call.slot_name)}**",
        colour=CALL_COLOUR,
        timestamp=utc(call.called_at),
    )
    embed.add_field(name="Called by", value=who(call, member), inline=True)
    embed.add_field(name="In the queue", value=f"#{position}", inline=True)
    embed.add_field(name="When", value=when(call), inline=False)
    embed.set_footer(text=f"Call {call.id}")
    return embed


def pick_embed(pick: Pick, member: discord.abc.User | None) -> discord.Embed:
    call = pick.call
    others = pick.open_before - 1
    embed = discord.Embed(
        title="Slot picked",
        description=f"**{literal(call.slot_name)}**",
        colour=PICK_COLOUR,
    )
    embed.add_field(name="Called by", value=who(call, member), inline=True)
    embed.add_field(name="Called", value=when(call), inline=True)
    calls = "call" if pick.open_before == 1 else "calls"
    how = "Picked at random" if pick.is_random else "Picked by a moderator"
    embed.set_footer(text=f"{how} from {pick.open_before} open {calls}; {others} left")
    return embed


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def slotlist_embed(calls: list[SlotCall], *, page: int, total: int, prefix: str) -> discord.Embed:
    """One page of open calls; ``calls`` start at position ``(page - 1) * PAGE_SIZE + 1``."""
    first = (page - 1) * PAGE_SIZE + 1
    # Names cut before escaping (which may double them), so that ten lines always fit.
    lines = [
        f"**#{first + index}** {literal(truncate(call.slot_name, LISTED_SLOT_NAME))}"
        f" - {literal(truncate(call.username, LISTED_USERNAME))}"
        for index, call in enumerate(calls)
    ]
    pages = page_count(total)
    embed = discord.Embed(
        title=f"Open slot calls ({total})",
        description=truncate("\n".join(lines), EMBED_DESCRIPTION_LIMIT),
        colour=CALL_COLOUR,
    )
    footer = f"Page {page} of {pages}"
    if page < pages:
        footer += f" · {prefix}slotlist {page + 1} for the next page"
    embed.set_footer(text=footer)
    return embed


NO_OPEN_CALLS = "No open slot calls."
NOTHING_TO_PICK = "There are no open slot calls to pick from."


def no_such_page(page: int, total: int) -> str:
    return f"There is no page {page}: {total} open calls fill {page_count(total)} page(s)."


NOTHING_TO_CLEAR = "There are no open slot calls to clear."


def clear_question(count: int) -> str:
    calls = "call" if count == 1 else "calls"
    return f"Close all {count} open slot {calls}? This cannot be undone."


def cleared(count: int) -> str:
    if count == 0:
        return "There were no open slot calls to clear."
    calls = "call" if count == 1 else "calls"
    return f"Cleared {count} open slot {calls}."


def channel_text(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "none set"


def commands_used(status: SlotCallStatus) -> str:
    """How viewers call slots: ``!sr`` too, unless a song request bot keeps it."""
    return "!call <slot> or !sr <slot>" if status.settings.answer_sr else "!call <slot>"


def status_text(
    status: SlotCallStatus,
    prefix: str,
    *,
    channel_here: bool = True,
    cannot_post: str | None = None,
) -> str:
    """``channel_here`` False: the channel calls go to is not one of this server's (deleted,
    or SLOT_CALLS_CHANNEL_ID of another server), so nothing is posted. ``cannot_post``: why
    the bot may not post the calls (embeds) in that channel, naming what to give."""
    settings = status.settings
    state = "on" if settings.enabled else "off"
    limit = settings.max_open_per_user
    channel = channel_text(status.channel_id) if channel_here else "none in this server"
    lines = [
        f"Slot calls are **{state}**: viewers use {commands_used(status)} in chat.",
        f"Channel: {channel}",
        f"Open calls: {status.open_calls}",
        f"Cooldown per viewer: {settings.cooldown_seconds} s",
        f"Open calls per viewer: {limit if limit is not None else 'no limit'}",
        f"Linked account needed: {'yes' if settings.require_link else 'no'}",
        f"!sr: {'a slot call' if settings.answer_sr else 'left to your song request bot'}",
    ]
    if settings.enabled and (status.channel_id is None or not channel_here):
        lines.append(f"Set a channel with {prefix}slotcalls channel #channel to see the calls.")
    elif cannot_post is not None:
        lines.append(cannot_post)
    return "\n".join(lines)


def enabled_changed(
    status: SlotCallStatus,
    prefix: str,
    *,
    channel_here: bool = True,
    cannot_post: str | None = None,
) -> str:
    if not status.settings.enabled:
        return "Slot calls are now **off**: !call in chat is refused, and !sr left to other bots."
    if not (status.channel_id and channel_here):
        where = f"set a channel with {prefix}slotcalls channel #channel to see them."
    elif cannot_post is not None:
        where = f"they go to {channel_text(status.channel_id)}, but {cannot_post}"
    else:
        where = f"they are posted in {channel_text(status.channel_id)}."
    return f"Slot calls are now **on**: viewers use {commands_used(status)} in chat; {where}"


def channel_changed(status: SlotCallStatus) -> str:
    return f"Slot calls will be posted in {channel_text(status.channel_id)}."


def channel_not_writable(channel: discord.abc.GuildChannel) -> str:
    return f"I can't send embeds in {channel.mention}; give me Send Messages and Embed Links there."


def cooldown_changed(status: SlotCallStatus) -> str:
    seconds = status.settings.cooldown_seconds
    if seconds == 0:
        return "Viewers can now call slots without waiting between calls."
    return f"Viewers now wait {seconds} s between slot calls."


def limit_changed(status: SlotCallStatus) -> str:
    limit = status.settings.max_open_per_user
    if limit is None:
        return "Viewers can now have any number of open slot calls."
    return f"Viewers can now have at most {limit} open slot call(s) each."


def require_link_changed(status: SlotCallStatus) -> str:
    if status.settings.require_link:
        return "Viewers now need a linked account to call slots."
    return "Viewers no longer need a linked account to call slots."


def answer_sr_changed(status: SlotCallStatus) -> str:
    if status.settings.answer_sr:
        return "!sr <slot> in chat is a slot call again, as !call <slot> is."
    return "!sr is now left to your song request bot: only !call <slot> is a slot call."


def slotcalls_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}slotcalls on | off | status | channel #channel | cooldown <seconds> | "
        f"limit <number or off> | requirelink on|off | sr on|off"
    )


def blacklist_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}callblacklist add <name> [reason] | remove <name> | list "
        "(a Kick or Twitch name; kick:name or twitch:name for one platform)"
    )


def blacklisted(name: str, *, is_new: bool) -> str:
    if is_new:
        return f"{literal(name)} can no longer call slots (their calls are ignored quietly)."
    return f"{literal(name)} was on the list already; the reason is updated."


def unblacklisted(name: str, *, removed: bool) -> str:
    if removed:
        return f"{literal(name)} can call slots again."
    return f"{literal(name)} is not on the slot call blacklist."


def blacklist_text(entries: list[BlacklistEntry]) -> str:
    if not entries:
        return "Nobody is on the slot call blacklist."
    text = "**Slot call blacklist**"
    for index, entry in enumerate(entries):
        reason = f": {literal(entry.reason)}" if entry.reason else ""
        line = f"\n- {literal(entry.username)} ({entry.platform.name.title()}){reason}"
        left = len(entries) - index
        # Whole entries only, and room kept to say how many more there are.
        room = MESSAGE_LIMIT - (0 if left == 1 else len(f"\n...and {left} more."))
        if len(text) + len(line) > room:
            return f"{text}\n...and {left} more."
        text += line
    return text
