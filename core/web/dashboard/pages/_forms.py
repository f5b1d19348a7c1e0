"""What the guild pages share: the page's service (a 404 page naming the area when its feature
is not installed here), the page around a form, a short notice after a change (post, redirect,
get), reading typed numbers and ids, and the one-time reference a ticket form carries.

A refusal (:class:`~core.features.refusals.Refused`, from a service or from reading the form)
is shown next to its field: the view re-renders the page with ``errors[field]`` and status 400.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import flash, g, get_flashed_messages, redirect, render_template, url_for

from core.features.amounts import AmountNotUnderstood, parse_whole_amount
from core.features.directory.repository import Channel
from core.features.refusals import Refused
from core.features.typed_numbers import discord_id
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.guilds import FeatureMissing, avatar_url, guild_name
from core.web.dashboard.state import dashboard

T = TypeVar("T")

SNOWFLAKE_LOW = 10**16  # Discord's ids have 17 digits or more (2015 on); fewer is a typo
_REFERENCE = re.compile(r"^[0-9a-f]{32}$")


class FormRefused(Refused):
    """What was typed in a field cannot be used; the message says why."""


def installed(found: T | None) -> T:
    """A feature's service as the dashboard was given it (``installed(config().raffle)``);
    raises :class:`FeatureMissing` (a 404 page naming the area) when the feature is off in this
    process."""
    if found is None:
        raise FeatureMissing()
    return found


def config() -> DashboardConfig:
    """What this dashboard was built with: its typed services and settings."""
    return dashboard().config


def page(  # type: ignore[no-untyped-def]
    template: str,
    guild_id: int,
    *,
    errors: Mapping[str, str] | None = None,
    done: str | None = None,
    code: int | None = None,
    **context: Any,
):
    """A guild page; with errors it answers 400 (the form is shown again with them). The notices
    flashed by :func:`done` before the redirect here are ``notices``."""
    if code is None:
        code = 400 if errors else 200
    html = render_template(
        template,
        user=g.user,
        guild_id=guild_id,
        guild_name=guild_name(guild_id),
        errors=dict(errors or {}),
        done=done,
        notices=get_flashed_messages(),
        **context,
    )
    return html, code


@dataclass(frozen=True)
class Members:
    """Members of one server as the bot last saw them (the directory), for the ``member`` macro:
    each one's name, and their picture on Discord's CDN for those the bot saw with one. An id
    it never saw is absent (the page shows the id)."""

    names: dict[int, str]
    avatars: dict[int, str]


def members(guild_id: int, user_ids: list[int]) -> Members:
    directory = config().directory
    if directory is None:
        return Members({}, {})
    stored = directory.member_avatars(guild_id, user_ids)
    urls = {user_id: avatar_url(guild_id, user_id, value) for user_id, value in stored.items()}
    return Members(
        directory.member_names(guild_id, user_ids),
        {user_id: url for user_id, url in urls.items() if url is not None},
    )


def role_choices(guild_id: int, kept: int | None = None) -> list[tuple[str, str]]:
    """The roles a picker offers (the bot can give them), highest first, as (id, "@name");
    empty when the bot never described the server (the page asks for a typed id instead). The
    setting's stored role ``kept``, when the bot can no longer give it (moved above the bot's),
    is added by its name, so that it shows as itself and stays selected."""
    directory = config().directory
    roles = [] if directory is None else directory.roles(guild_id)
    choices = [(str(role.role_id), f"@{role.name}") for role in roles if role.assignable]
    if not choices or not kept or str(kept) in dict(choices):
        return choices
    known = next((role for role in roles if role.role_id == kept), None)
    label = f"@{known.name} (I can't give it now)" if known else f"{kept} (not in the server)"
    return [*choices, (str(kept), label)]


def role_names(guild_id: int) -> dict[int, str]:
    """Every role's name in this server as the bot last saw it."""
    directory = config().directory
    return {} if directory is None else {r.role_id: r.name for r in directory.roles(guild_id)}


def role_colours(guild_id: int) -> dict[int, str]:
    """Roles' colours as CSS hex (``#3498db``), for those that have one (0 is Discord's none)."""
    directory = config().directory
    roles = [] if directory is None else directory.roles(guild_id)
    return {role.role_id: f"#{role.color:06x}" for role in roles if role.color}


# A channel id the directory cannot name: a deleted channel, or a thread (discord.py forgets a
# thread once it is archived), set in Discord, as the dashboard takes only ids it knows.
NOT_FOUND = "I can't find it: deleted, or a thread that was archived"


def channel_choices(guild_id: int, kept: int | str | None = None) -> list[tuple[str, str]]:
    """The text channels and threads a picker offers (the bot can post there), as (id, "#name";
    a thread's "#channel \u203a thread"), and the setting's stored channel ``kept`` when it is not
    one of them (hidden from the bot now, a thread archived or locked, deleted), named as well
    as the directory can, so that it shows and stays selected:
    saving the form's other settings must not erase it."""
    directory = config().directory
    if directory is None:
        return []
    offered = directory.postable_channels(guild_id)
    choices = [(str(channel.channel_id), f"#{channel.name}") for channel in offered]
    if not choices or not kept or str(kept) in dict(choices):
        return choices
    known = next((c for c in directory.channels(guild_id) if str(c.channel_id) == str(kept)), None)
    label = f"#{known.name} ({_why_not_here(known)})" if known else f"{kept} ({NOT_FOUND})"
    return [*choices, (str(kept), label)]


# The bot's posts in a channel set here (slot calls, heist results, link log entries) are
# embeds, which Discord refuses without Embed Links; the directory's can_post asks for both.
_CHANNEL_NEEDS = "Send Messages and Embed Links"
_THREAD_NEEDS = "Send Messages in Threads and Embed Links"


def _why_not_here(channel: Channel) -> str:
    """A picker's words for a setting's channel the bot cannot post in now."""
    if channel.kind in ("text", "news"):
        return f"I can't post there now: I need {_CHANNEL_NEEDS}"
    return "I can't post there now"


def _cannot_post(channel: Channel) -> str:
    """Why a channel the picker leaves out is refused, naming what would let the bot post."""
    name = f"#{channel.name}"
    if channel.kind in ("text", "news"):
        return (
            f"I can't post in {name}: give me {_CHANNEL_NEEDS} there (my posts are embeds), "
            "or pick another channel."
        )
    if channel.kind == "thread":
        return (
            f"I can't post in {name}: the thread is archived or locked, or I need "
            f"{_THREAD_NEEDS} there (in a private thread, add me to it). Open it or give me "
            "those, or pick another channel."
        )
    return f"I can't post in {name}; pick a text channel or thread I can post in."


def done(endpoint: str, guild_id: int, message: str):  # type: ignore[no-untyped-def]
    """After a change: the notice, and back to the page (post, redirect, get)."""
    flash(message)
    return redirect(url_for(endpoint, guild_id=guild_id))


def back_to(guild_id: int, note: str, anchor: str | None = None):  # type: ignore[no-untyped-def]
    """After a change: the notice, and back to the area's page (at the section ``anchor`` when
    given) with a 303, so the browser gets it rather than posting again."""
    flash(note)
    return redirect(url_for(".index", guild_id=guild_id, _anchor=anchor), code=303)


def in_words(message: str, names: Mapping[str, str]) -> str:
    """``message`` (a refusal the Discord command shares, naming settings as they are typed
    there: ``low_chance``, ``watch_hour``) with each such name replaced by its label on the
    page. Names that are plain words (``channel``) are left: the sentence reads as it is."""
    for name, label in names.items():
        if "_" in name:
            pattern = rf"(?<![\w.#]){re.escape(name)}(?!\w)"
            message = re.sub(pattern, lambda _found, label=label: label, message)  # as written
    return message


def whole_number(text: str | None, what: str, low: int, high: int) -> int:
    """A number typed as the commands take it (``1500``, ``1,500``, ``1_500``) in ``low`` ..
    ``high``; refused with the range, or in words when a comma reads two ways (``1,5``)."""
    words = f"{what} takes a whole number from {low:,} to {high:,}."
    try:
        number = parse_whole_amount(text or "", max_digits=len(str(high)))
    except AmountNotUnderstood as exc:
        raise FormRefused(f"{what}: {exc}" if exc.ambiguous else words) from None
    if not low <= number <= high:
        raise FormRefused(words)
    return number


def count_or_none(text: str | None, *, digits: int = 10) -> int | None:
    """A plain whole number typed in a form (``1,000`` and ``1_000`` too), or None: empty,
    signs, other digits, too long. For pages that word the refusal themselves."""
    try:
        number = parse_whole_amount(text or "", max_digits=digits)
    except AmountNotUnderstood:
        return None
    return number


def snowflake(text: str | None, what: str) -> int:
    """A Discord id as typed (``123…``, ``<@&123…>``, ``<#123…>`` or ``<@123…>``)."""
    found = discord_id(text)
    if found is None or found < SNOWFLAKE_LOW:
        raise FormRefused(f"{what} takes a Discord id: 17 to 20 digits (Developer Mode, Copy ID).")
    return found


def new_reference() -> str:
    """A form's one-time reference: the service adds nothing for a form sent twice."""
    return secrets.token_hex(16)


def reference(text: str | None) -> str:
    raw = (text or "").strip()
    if not _REFERENCE.match(raw):
        raise FormRefused("This form is missing its reference; reload the page and try again.")
    return raw


CANNOT_CHECK = (
    "I cannot check that {what} now (the bot is not connected here); try again in a moment, or "
    "use the command in Discord."
)


def channel_refusal(guild_id: int, channel_id: int) -> str | None:
    """Why a typed or picked channel id cannot be used in this guild (it must be one of the
    server's channels, as the commands check), or None when it can. A channel that cannot be
    checked now is refused: a typed id is never trusted unchecked (another server's channel)."""
    known = config().guild_channel_ids(guild_id)
    if known is None:
        return CANNOT_CHECK.format(what="channel")
    if channel_id not in known:
        return "That channel is not in this server."
    directory = config().directory
    channels = [] if directory is None else directory.channels(guild_id)
    channel = next((c for c in channels if c.channel_id == channel_id), None)
    if channel is not None and not channel.takes_posts:
        # What the picker leaves out (a voice channel, a category, one the bot cannot post in)
        # is refused when a form is made by hand too: posts there would be lost.
        return _cannot_post(channel)
    return None


def member_refusal(guild_id: int, member_id: int) -> str | None:
    """Why a typed member id is not someone of this server (as a command's @member is), or
    None when it is. Links are kept for the whole deployment, so an unchecked id would reach
    the accounts of someone who never joined. Refused when the server cannot be checked now."""
    directory = config().directory
    if directory is None or config().guild_channel_ids(guild_id) is None:
        return CANNOT_CHECK.format(what="member")
    if not directory.member_names(guild_id, [member_id]):
        return "There is no member with that id in this server."
    return None


def checked_channel(guild_id: int, text: str | None, what: str) -> int | None:
    """A channel field: empty is None; else an id of this server's (:func:`channel_refusal`)."""
    if (text or "").strip() == "":
        return None
    channel_id = snowflake(text, what)
    problem = channel_refusal(guild_id, channel_id)
    if problem is not None:
        raise FormRefused(problem)
    return channel_id


def role_refusal(guild_id: int, role_id: int) -> str | None:
    """Why a typed role id cannot be handed out in this guild (as ``!roles add`` checks a role:
    it exists here, is not @everyone, not an integration's, and is below the bot's top role), or
    None when it can. A role that cannot be checked now is refused too: a typed id is never
    trusted unchecked."""
    roles = config().guild_roles(guild_id)
    if roles is None:
        return CANNOT_CHECK.format(what="role")
    if role_id == guild_id:
        return "@everyone can't be given to members; pick or create a role for it."
    if role_id not in roles.existing_role_ids:
        return "There is no role with that id in this server."
    if role_id not in roles.assignable_role_ids:
        return (
            "I can't give that role: it belongs to a bot or an integration, or it is at or above "
            "my highest role (Server Settings > Roles: drag my role above it)."
        )
    return None
