"""What a chat line says: whether it is a command (its name and arguments, once cleaned as all
chat text is), and the permission level the sender's badges give. Pure functions: the router
(``router.py``) decides what happens next."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.events import ChatMessageSent
from core.features.chat_commands.text import clean_text, without_emotes

PREFIX = "!"


class Permission(enum.IntEnum):
    """Who may use a command; each level includes the ones above it in chat's pecking order."""

    EVERYONE = 0
    SUBSCRIBER = 1
    VIP = 2
    MODERATOR = 3
    BROADCASTER = 4


# Badge types as Kick sends them (``sender.identity.badges[].type``); Twitch uses the same words,
# and gives its lead moderators the lead_moderator badge instead of moderator's.
BADGE_PERMISSIONS = {
    "broadcaster": Permission.BROADCASTER,
    "moderator": Permission.MODERATOR,
    "lead_moderator": Permission.MODERATOR,
    "vip": Permission.VIP,
    "subscriber": Permission.SUBSCRIBER,
    "founder": Permission.SUBSCRIBER,  # the first subscribers of a channel
}


def permission_of(event: ChatMessageSent) -> Permission:
    """The highest level the sender's badges give; the channel's owner is always broadcaster."""
    if event.viewer.platform_user_id == event.broadcaster_user_id:
        return Permission.BROADCASTER
    levels = [BADGE_PERMISSIONS.get(badge.strip().lower()) for badge in event.badges]
    return max((level for level in levels if level is not None), default=Permission.EVERYONE)


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # as typed, casefolded
    arguments: str


# "!" and the characters NFKC folds into one or more of it (full-width, small, doubled).
BANGS = "!\u203c\u2048\u2049\ufe15\ufe57\uff01"


def command_line(event: ChatMessageSent) -> str:
    """The line the viewer typed. Twitch starts the text of a reply (its Reply button) with
    "@<the parent's name> ", a mention its own chat hides: that word is not the viewer's, so a
    reply saying ``!join 100`` is that command."""
    content = event.content
    if event.reply_to_message_id is None:
        return content
    mention, _, rest = content.lstrip().partition(" ")
    return rest if mention.startswith("@") else content


def parse_command(content: str) -> ParsedCommand | None:
    """``!Name rest of line`` -> ("name", "rest of line"); None when it is not a command.

    The line is cleaned first (:func:`clean_text`), so an invisible character (U+E0000, which
    Chatterino and 7TV append to a repeated message, a zero-width space) is neither an argument
    nor part of the name; nor is a Kick emote after the ``!``. A line without any form of ``!``
    is not cleaned at all."""
    if not any(bang in content for bang in BANGS):
        return None
    text = clean_text(content)
    if not text.startswith(PREFIX):
        return None
    rest = text[len(PREFIX) :]
    if not rest or rest[0].isspace():
        return None
    words = without_emotes(rest).split(None, 1)
    if not words:
        return None
    name, *arguments = words
    return ParsedCommand(name.casefold(), arguments[0].strip() if arguments else "")


class Refusal(str):
    """A reply refusing the viewer's own typing (a wrong argument): the command did nothing, so
    the viewer's cooldown is given back and they may type it again, corrected, at once (up to
    ``router.FORGIVEN``). Return ``Refusal("...")`` where a plain ``str`` would be."""
