"""What the bot says about account links: pure functions from plain values to text and embeds.

Kick names are chosen by their owners, so they pass through :func:`~core.discord_bot.render.inert`.
A start link is personal: only a DM or an ephemeral reply may hold it, never a channel message.
"""

from __future__ import annotations

import discord

from core.discord_bot.connections.render import link_expiry, relative
from core.discord_bot.render import inert
from core.events import utc
from core.features.linking.ports import LinkNotice, RoleChange
from core.features.linking.repository import AccountLink, LinkSettings
from core.features.linking.service import (
    ALREADY_LINKED,
    DECLINED,
    KICK_ERROR,
    LINK_EXPIRED,
    LINKED,
    UNLINKED,
)

LINK_LABEL = "Link my Kick account"
PANEL_BUTTON_ID = "streamkeeper:link:start"  # fixed: a restarted bot still answers old panels
UNAVAILABLE = (
    "Linking isn't available yet: this bot has no Kick app. The bot's operator sets "
    "`KICK_CLIENT_ID` and `KICK_CLIENT_SECRET` to turn it on."
)

# Why a link failed, in plain words, after "Your Kick account was not linked: ".
_REASONS = {
    DECLINED: "you declined on Kick",
    LINK_EXPIRED: "the link had expired (links work for one hour)",
    ALREADY_LINKED: "that Kick account is already linked to another Discord user",
    KICK_ERROR: "Kick did not finish the sign-in",
}


def reason_text(reason: str | None) -> str:
    return _REASONS.get(reason or "", "the sign-in did not finish")


def _works_until(link: str) -> str:
    expires = link_expiry(link)
    return f"it works until {relative(expires)}" if expires else "it works for one hour"


def _current_link(current: AccountLink | None) -> str:
    if current is None:
        return ""
    return (
        f"\nYou're linked to **{inert(current.username)}** now; linking another Kick account "
        "replaces it."
    )


# --- !link and /link -----------------------------------------------------------------------


def link_dm(link: str, guild_name: str, current: AccountLink | None) -> str:
    return (
        f"Here is your personal link to connect your Kick account for {inert(guild_name)} "
        f"({_works_until(link)}). It is for you alone: don't share it.\n{link}"
        f"{_current_link(current)}"
    )


def link_private(link: str, current: AccountLink | None) -> str:
    """The ephemeral reply to /link and to the panel button: only the caller sees it."""
    return (
        f"Here is your personal link to connect your Kick account (only you can see it; "
        f"{_works_until(link)}):\n{link}{_current_link(current)}"
    )


def link_view(link: str) -> discord.ui.View:
    """A link button to ``link``. Needs a running event loop (discord.py's views do)."""
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=LINK_LABEL, url=link))
    return view


LINK_SENT = "I sent you a link by DM to connect your Kick account."
DMS_CLOSED = (
    "I couldn't DM you the link: your direct messages are closed to me. Use the slash command "
    "/link instead; it shows the link to you alone."
)


def dms_closed_for(display_name: str) -> str:
    """Said in the panel's channel when a reactor's DMs are closed. It never holds the link."""
    return (
        f"{inert(display_name)}, I couldn't DM you the link: your direct messages are closed "
        "to me. Use the slash command /link instead; it shows the link to you alone."
    )


# --- what the member hears after the sign-in ------------------------------------------------


def member_notice(notice: LinkNotice) -> str:
    name = inert(notice.username) if notice.username else None
    if notice.outcome == LINKED:
        replaced = (
            f" (instead of {inert(notice.replaced_username)})" if notice.replaced_username else ""
        )
        return f"Your Discord account is now linked to **{name}** on Kick{replaced}."
    if notice.outcome == UNLINKED:
        return f"Your Discord account is no longer linked to **{name}** on Kick."
    if notice.reason == ALREADY_LINKED and name:
        return (
            f"Your Kick account was not linked: the Kick account **{name}** is already linked "
            "to another Discord user. If it is yours, ask a server admin to unlink it."
        )
    why = reason_text(notice.reason)
    return f"Your Kick account was not linked: {why}. Use !link to try again."


# --- the link log ----------------------------------------------------------------------------


def log_embed(notice: LinkNotice, role: RoleChange | None) -> discord.Embed:
    member = f"<@{notice.discord_user_id}>"
    account = _account(notice)
    if notice.outcome == LINKED:
        title, colour = "Account linked", discord.Colour.green()
        description = f"{member} linked the Kick account {account}."
        if notice.replaced_username:
            description += f" It replaces {inert(notice.replaced_username)}."
    elif notice.outcome == UNLINKED:
        title, colour = "Account unlinked", discord.Colour.orange()
        description = f"{member} is no longer linked to the Kick account {account}."
        if notice.actor_id is not None and notice.actor_id != notice.discord_user_id:
            description += f" Unlinked by <@{notice.actor_id}>."
    else:
        title, colour = "Link refused", discord.Colour.red()
        description = f"{member} could not link a Kick account: {reason_text(notice.reason)}."
        if notice.username:
            description += f"\nKick account: {account}"
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


def unlinked(link: AccountLink, member: discord.abc.User | None, role: RoleChange | None) -> str:
    who = "Your Discord account is" if member is None else f"{inert(member.display_name)} is"
    text = f"{who} no longer linked to **{inert(link.username)}** on Kick."
    if role is not None and not role.is_done:
        text += f"\nI couldn't remove the linked role: {inert(role.problem or 'unknown problem')}."
    return text


def not_linked(member: discord.abc.User | None) -> str:
    if member is None:
        return "You have no linked Kick account."
    return f"{inert(member.display_name)} has no linked Kick account."


# --- !linkrole -------------------------------------------------------------------------------


def linked_role_status(settings: LinkSettings, role: discord.Role | None, prefix: str) -> str:
    if settings.linked_role_id is None:
        return f"Linked members get no role. Set one with {prefix}linkrole @role."
    if role is None:
        return (
            "The linked role no longer exists. Set another with "
            f"{prefix}linkrole @role, or turn it off with {prefix}linkrole off."
        )
    return f"Members who link their Kick account get {role.mention}."


def linked_role_set(role: discord.Role, problem: str | None) -> str:
    text = f"Members who link their Kick account now get {role.mention}."
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


def linklogs_status(settings: LinkSettings, prefix: str) -> str:
    if settings.log_channel_id is None:
        return f"The link log is off. Turn it on in a channel with {prefix}linklogs on."
    return f"The link log is on, in <#{settings.log_channel_id}>."


# --- link panels -----------------------------------------------------------------------------


def reaction_panel(emoji: str) -> discord.Embed:
    return discord.Embed(
        title="Link your Kick account",
        description=(
            f"React with {emoji} and I'll send you a personal link by DM. Linking lets this "
            "server count your Kick watchtime and give you roles for it."
        ),
        colour=discord.Colour.green(),
    )


def button_panel() -> discord.Embed:
    return discord.Embed(
        title="Link your Kick account",
        description=(
            "Press the button and I'll show you a personal link that only you can see. Linking "
            "lets this server count your Kick watchtime and give you roles for it."
        ),
        colour=discord.Colour.green(),
    )


def panel_posted(pinned: bool) -> str:
    if pinned:
        return "Link panel posted and pinned."
    return (
        "Link panel posted, but I couldn't pin it: I need the Manage Messages permission in "
        "this channel."
    )


BAD_EMOJI = (
    "That isn't an emoji I can use. Give a standard emoji, or one of this server's own emoji."
)
