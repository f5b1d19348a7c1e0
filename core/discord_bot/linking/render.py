"""What the bot says about account links: pure functions from plain values to text and embeds.

Kick and Twitch names are chosen by their owners, so they pass through
:func:`~core.discord_bot.render.inert`.
A start link is personal: only a DM or an ephemeral reply may hold it, never a channel message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import discord

from core.discord_bot.render import inert, relative, works_until
from core.events import Platform, utc
from core.features.linking.platforms import platform_name
from core.features.linking.ports import LinkNotice, RoleChange
from core.features.linking.repository import AccountLink, LinkSettings
from core.features.linking.service import (
    ALREADY_LINKED,
    DECLINED,
    KICK_ERROR,
    LINK_EXPIRED,
    LINKED,
    TWITCH_ERROR,
    UNLINKED,
)

# Fixed custom ids: a restarted bot still answers old panels. The first is the Kick-only panel
# button from before Twitch; panels posted since carry a button per platform.
PANEL_BUTTON_ID = "streamkeeper:link:start"
PANEL_PLATFORM_BUTTON_IDS = {
    Platform.KICK: "streamkeeper:link:start:kick",
    Platform.TWITCH: "streamkeeper:link:start:twitch",
}
UNAVAILABLE = (
    "Linking isn't available yet: this bot has no Kick or Twitch app. The bot's operator sets "
    "`KICK_CLIENT_ID` and `KICK_CLIENT_SECRET` (or the `TWITCH_` ones) to turn it on."
)


def link_label(platform: Platform) -> str:
    return f"Link my {platform_name(platform)} account"


def unavailable_for(platform: Platform) -> str:
    name = platform_name(platform)
    setting = platform.value.upper()
    return (
        f"Linking {name} accounts isn't available: this bot has no {name} app. The bot's "
        f"operator sets `{setting}_CLIENT_ID` and `{setting}_CLIENT_SECRET` to turn it on."
    )


def names_of(platforms: tuple[Platform, ...]) -> str:
    return " or ".join(platform_name(p) for p in platforms)


def choose_platform(platforms: tuple[Platform, ...], prefix: str) -> str:
    """``!link`` in a guild that offers several platforms: which one?"""
    commands = " or ".join(f"{prefix}link {p.value}" for p in platforms)
    return (
        f"Which account do you want to link, {names_of(platforms)}? Use {commands}, "
        "or press a button below."
    )


def unknown_platform(word: str, platforms: tuple[Platform, ...], prefix: str) -> str:
    choices = "|".join(p.value for p in platforms) or "kick|twitch"
    return f'I can\'t link a "{inert(word)}" account. Usage: {prefix}link [{choices}]'


# Why a link failed, in plain words, after "Your <platform> account was not linked: ".
_REASONS = {
    DECLINED: "you declined on {name}",
    LINK_EXPIRED: "the link had expired",
    ALREADY_LINKED: "that {name} account is already linked to another Discord user",
    KICK_ERROR: "{name} did not finish the sign-in",
    TWITCH_ERROR: "{name} did not finish the sign-in",
}


def reason_text(reason: str | None, platform: Platform = Platform.KICK) -> str:
    text = _REASONS.get(reason or "", "the sign-in did not finish")
    return text.format(name=platform_name(platform))


def _current_link(current: AccountLink | None) -> str:
    if current is None:
        return ""
    return (
        f"\nYou're linked to **{inert(current.username)}** now; linking another "
        f"{platform_name(current.platform)} account replaces it."
    )


# --- !link and /link -----------------------------------------------------------------------


def link_dm(
    link: str, guild_name: str, current: AccountLink | None, platform: Platform = Platform.KICK
) -> str:
    return (
        f"Here is your personal link to connect your {platform_name(platform)} account for "
        f"{inert(guild_name)} ({works_until(link)}). It is for you alone: don't share it.\n"
        f"{link}{_current_link(current)}"
    )


def link_private(link: str, current: AccountLink | None, platform: Platform = Platform.KICK) -> str:
    """The ephemeral reply to /link and to the panel button: only the caller sees it."""
    return (
        f"Here is your personal link to connect your {platform_name(platform)} account (only "
        f"you can see it; {works_until(link)}):\n{link}{_current_link(current)}"
    )


def link_view(link: str, platform: Platform = Platform.KICK) -> discord.ui.View:
    """A link button to ``link``. Needs a running event loop (discord.py's views do)."""
    view = discord.ui.View(timeout=None)
    label = link_label(platform)
    view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=link))
    return view


def link_sent(platform: Platform) -> str:
    return f"I sent you a link by DM to connect your {platform_name(platform)} account."


DMS_CLOSED = (
    "I couldn't DM you the link: your direct messages are closed to me. Use the slash command "
    "/link instead; it shows the link to you alone."
)


def link_sent_recently(guild_name: str, wait_seconds: float) -> str:
    """DMed to a member who reacts to a panel again before its cooldown ran out."""
    return (
        f"I sent you a link for **{inert(guild_name)}** moments ago; it's above in this "
        f"conversation. React again in {math.ceil(wait_seconds)} s for a new one."
    )


def dms_closed_for(display_name: str) -> str:
    """Said in the panel's channel when a reactor's DMs are closed. It never holds the link."""
    return f"{inert(display_name)}, {DMS_CLOSED}"


# --- what the member hears after the sign-in ------------------------------------------------


def member_notice(notice: LinkNotice) -> str:
    name = inert(notice.username) if notice.username else None
    on = platform_name(notice.platform)
    if notice.outcome == LINKED:
        replaced = (
            f" (instead of {inert(notice.replaced_username)})" if notice.replaced_username else ""
        )
        return f"Your Discord account is now linked to **{name}** on {on}{replaced}."
    if notice.outcome == UNLINKED:
        return f"Your Discord account is no longer linked to **{name}** on {on}."
    if notice.reason == ALREADY_LINKED and name:
        # An admin here can only unlink a link made here (LinkingService.unlink).
        where, admin = (
            (", in another server, so no admin here can unlink it", "")
            if notice.is_held_elsewhere
            else ("", ", or ask a server admin to unlink it")
        )
        return (
            f"Your {on} account was not linked: the {on} account **{name}** is already linked "
            f"to another Discord user{where}. If it is yours, unlink it with !unlink from the "
            f"Discord account that linked it{admin}, then link again."
        )
    why = reason_text(notice.reason, notice.platform)
    return f"Your {on} account was not linked: {why}. Use !link {notice.platform} to try again."


# --- the link log ----------------------------------------------------------------------------


def log_embed(notice: LinkNotice, role: RoleChange | None) -> discord.Embed:
    member = f"<@{notice.discord_user_id}>"
    account = _account(notice)
    on = platform_name(notice.platform)
    if notice.outcome == LINKED:
        title, colour = "Account linked", discord.Colour.green()
        description = f"{member} linked the {on} account {account}."
        if notice.replaced_username:
            description += f" It replaces {inert(notice.replaced_username)}."
    elif notice.outcome == UNLINKED:
        title, colour = "Account unlinked", discord.Colour.orange()
        description = f"{member} is no longer linked to the {on} account {account}."
        if notice.actor_id is not None and notice.actor_id != notice.discord_user_id:
            description += f" Unlinked by <@{notice.actor_id}>."
    else:
        title, colour = "Link refused", discord.Colour.red()
        why = reason_text(notice.reason, notice.platform)
        description = f"{member} could not link a {on} account: {why}."
        if notice.username:
            description += f"\n{on} account: {account}"
    embed = discord.Embed(
        title=title, description=description, colour=colour, timestamp=utc(notice.at)
    )
    if role is not None:
        embed.add_field(name="Linked role", value=_role_line(notice, role), inline=False)
    return embed


def _account(notice: LinkNotice) -> str:
    name = inert(notice.username or "unknown")
    if notice.platform_user_id:
        return f"**{name}** (id {inert(notice.platform_user_id)})"
    return f"**{name}**"


def _role_line(notice: LinkNotice, role: RoleChange) -> str:
    mention = f"<@&{role.role_id}>"
    if role.is_done:
        return f"{mention} {'given' if notice.outcome == LINKED else 'removed'}"
    action = "give" if notice.outcome == LINKED else "remove"
    return f"Couldn't {action} {mention}: {inert(role.problem or 'unknown problem')}"


# --- !unlink ---------------------------------------------------------------------------------


def unlinked(link: AccountLink, member: discord.abc.User | None) -> str:
    """``!unlink`` done (the linked role and the link log follow through the Discord worker)."""
    who = "Your Discord account is" if member is None else f"{inert(member.display_name)} is"
    on = platform_name(link.platform)
    return f"{who} no longer linked to **{inert(link.username)}** on {on}."


def not_linked(member: discord.abc.User | None, platform: Platform | None = Platform.KICK) -> str:
    what = f"linked {platform_name(platform)} account" if platform else "linked account"
    if member is None:
        return f"You have no {what}."
    return f"{inert(member.display_name)} has no {what}."


def no_link_here(user: discord.abc.User, platform: Platform | None) -> str:
    """``!unlink <user id>`` of someone who is not a member and has no link made here."""
    what = f"{platform_name(platform)} account" if platform else "Kick or Twitch account"
    return (
        f"{inert(user.display_name)} is not a member of this server and has no {what} linked here."
    )


def unlink_which(
    links: list[AccountLink], prefix: str, member: discord.abc.User | None = None
) -> str:
    """``!unlink`` without a platform, for a member linked on several (``member``: another
    member an admin named, else the caller)."""
    named = "" if member is None else f"{member.mention} "  # shown as their name, not pinged
    choices = " or ".join(f"{prefix}unlink {named}{link.platform.value}" for link in links)
    names = names_of(tuple(link.platform for link in links))
    who = "You have" if member is None else f"{inert(member.display_name)} has"
    return f"{who} linked accounts on {names}: use {choices}."


def unlink_usage(prefix: str) -> str:
    return f"That doesn't look right. Usage: {prefix}unlink [member] [kick|twitch]"


# --- !linked ---------------------------------------------------------------------------------


def linked_accounts(links: list[AccountLink], member: discord.abc.User | None) -> str:
    """The member's links on every platform (``!linked``)."""
    if not links:
        return not_linked(member, None)
    who = "Your Discord account is" if member is None else f"{inert(member.display_name)} is"
    lines = [
        f"- {platform_name(link.platform)}: **{inert(link.username)}** "
        f"(id {inert(link.platform_user_id)}), since {relative(link.linked_at)}"
        for link in links
    ]
    return f"{who} linked to:\n" + "\n".join(lines)


# --- !linkowner ------------------------------------------------------------------------------


def link_owners(
    typed: str,
    links: list[AccountLink],
    members: Mapping[int, discord.Member | None],
    guild_id: int,
    prefix: str,
) -> str:
    """Who holds the accounts an admin named (``members``: each holder, None when not in this
    server), and who can unlink it: the admin, for a link made here (``!unlink``), else only
    the holder. A holder who is not a member is named only by the id of a link made here (the
    server's own to undo); one made elsewhere is someone else's business."""
    if not links:
        return f"No Discord user has linked a Kick or Twitch account called {inert(typed.strip())}."
    return "\n".join(_owner_line(link, members.get(link.discord_user_id), guild_id, prefix)
                     for link in links)  # fmt: skip


def _owner_line(
    link: AccountLink, member: discord.Member | None, guild_id: int, prefix: str
) -> str:
    platform = link.platform.value
    account = f"The {platform_name(link.platform)} account **{inert(link.username)}**"
    since = f"since {relative(link.linked_at)}"
    if member is not None and link.linked_in_guild_id != guild_id:
        return (
            f"{account} is linked to {member.mention} ({since}), in another server: only they "
            f"can unlink it ({prefix}unlink {platform})."
        )
    if member is not None:
        return (
            f"{account} is linked to {member.mention} ({since}). "
            f"{prefix}unlink {member.mention} {platform} removes it."
        )
    if link.linked_in_guild_id == guild_id:
        who = link.discord_user_id
        return (
            f"{account} is linked to a Discord user who left this server (id {who}, {since}). "
            f"{prefix}unlink {who} {platform} removes it."
        )
    return (
        f"{account} is linked to a Discord user who is not in this server, in another server: "
        f"only they can unlink it ({prefix}unlink {platform})."
    )


# --- !linkrole -------------------------------------------------------------------------------


def linked_role_status(
    settings: LinkSettings, role: discord.Role | None, prefix: str, problem: str | None = None
) -> str:
    """``problem``: why the bot cannot give ``role`` now (``outbound.role_problem``)."""
    if settings.linked_role_id is None:
        return f"Linked members get no role. Set one with {prefix}linkrole @role."
    if role is None:
        return (
            "The linked role no longer exists. Set another with "
            f"{prefix}linkrole @role, or turn it off with {prefix}linkrole off."
        )
    text = f"Members who link their Kick or Twitch account get {role.mention}."
    if problem:
        text += f"\n\N{WARNING SIGN}\N{VARIATION SELECTOR-16} But I can't give it now: {problem}."
    return text


def linked_role_set(role: discord.Role, problem: str | None) -> str:
    text = f"Members who link their Kick or Twitch account now get {role.mention}."
    if problem:
        text += f"\n\N{WARNING SIGN}\N{VARIATION SELECTOR-16} But I can't give it yet: {problem}."
    return text


LINKED_ROLE_OFF = "Linked members no longer get a role (members who have it keep it)."


# --- !linklogs -------------------------------------------------------------------------------


def linklogs_usage(prefix: str) -> str:
    return f"Usage: {prefix}linklogs on | off | status"


def linklogs_on(channel_id: int) -> str:
    return f"Link attempts will be logged in <#{channel_id}>."


LINKLOGS_OFF = "The link log is off."
# !linklogs on in a voice channel's chat (or another channel the log cannot be posted in).
LINKLOGS_TEXT_ONLY = "Turn the link log on in a text channel or a thread: I can't post it here."


def linklogs_status(
    settings: LinkSettings, prefix: str, *, channel_here: bool = True, refusal: str | None = None
) -> str:
    """``channel_here`` False: the bot cannot find the log's channel in this server (deleted,
    or a thread archived since: discord.py forgets those). ``refusal``: why the bot cannot post
    in the channel it found (a permission, a locked thread)."""
    channel_id = settings.log_channel_id
    if channel_id is None:
        return f"The link log is off. Turn it on in a channel with {prefix}linklogs on."
    if not channel_here:
        return (
            f"The link log is on, but I can't find its channel <#{channel_id}>: it was deleted, "
            "or it is a thread that was archived. Open the thread again (a message in it does), "
            f"or turn the log on in another channel with {prefix}linklogs on."
        )
    if refusal is not None:
        return f"The link log is on, in <#{channel_id}>, but {refusal}"
    return f"The link log is on, in <#{channel_id}>."
