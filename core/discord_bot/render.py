"""What every part of the bot says alike: the mention guard, escaping and length limits.

Viewer names come from Kick chat, so anyone can pick one; everything a viewer controls passes
through :func:`inert` before it reaches Discord. Each feature renders its own messages in
``core/discord_bot/<feature>/render.py`` with these helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import discord

from core.events import utc
from core.features.chat_commands.text import few_marks

__all__ = [
    "GREEN",
    "MESSAGE_LIMIT",
    "NO_MENTIONS",
    "RED",
    "TYPED_NAME_LIMIT",
    "YELLOW",
    "board_name",
    "format_last_seen",
    "in_messages",
    "inert",
    "link_expiry",
    "relative",
    "truncate",
    "whole_lines",
    "works_until",
]

NO_MENTIONS = discord.AllowedMentions.none()
MESSAGE_LIMIT = 2000
TYPED_NAME_LIMIT = 100  # of a name a member typed, when a reply repeats it
# Of a viewer's name on a board's line: longer than any Kick or Twitch name (25), short enough
# that 25 lines of the longest names, each character escaped, fit in an embed (4,096).
BOARD_NAME_LIMIT = 40
GREEN = "\N{LARGE GREEN CIRCLE}"
RED = "\N{LARGE RED CIRCLE}"
YELLOW = "\N{LARGE YELLOW CIRCLE}"


# Direction embeddings, overrides and isolates (U+202A-202E, U+2066-2069): one left open in a
# name or a prize turns the rest of our line around ("with 5 tickets" reads backwards).
_DIRECTION_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def inert(text: str) -> str:
    """``text`` shown literally: no markdown, ``@everyone`` or ``<@id>`` mention nobody, and no
    direction control turns the rest of the line around."""
    text = text.translate(_DIRECTION_CONTROLS)
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def board_name(name: str) -> str:
    """A viewer's name on a leaderboard's or standings' line: :func:`inert`, a few combining
    marks a letter (a zalgo tower is drawn over the lines above and below) and cut at
    :data:`BOARD_NAME_LIMIT` characters."""
    return inert(truncate(few_marks(name), BOARD_NAME_LIMIT))


def relative(moment: datetime) -> str:
    """A Discord timestamp ("in 40 minutes", "3 hours ago") in each reader's own language and
    time zone."""
    return discord.utils.format_dt(utc(moment), "R")


def format_last_seen(moment: datetime | None) -> str:
    """When a viewer was last seen (:func:`relative`), or "never"."""
    return "never" if moment is None else relative(moment)


def link_expiry(link: str) -> datetime | None:
    """When a signed link stops working (its ``expires`` parameter), if it says."""
    values = parse_qs(urlsplit(link).query).get("expires", [])
    try:
        return datetime.fromtimestamp(int(values[0]), UTC) if values else None
    except (ValueError, OverflowError):
        return None


def works_until(link: str) -> str:
    """ "it works until <in 40 minutes>": when a signed link stops working, as the link says."""
    expires = link_expiry(link)
    return f"it works until {relative(expires)}" if expires else "it works for a short while"


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def in_messages(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` in the messages Discord takes (``limit`` characters each), cut between lines,
    so that no line is lost (a line longer than a message alone is cut short)."""
    messages: list[str] = []
    for line in text.splitlines():
        line = truncate(line, limit)
        if messages and len(messages[-1]) + 1 + len(line) <= limit:
            messages[-1] += "\n" + line
        else:
            messages.append(line)
    return messages


def whole_lines(lines: Sequence[str], limit: int, more: Callable[[int], str]) -> str:
    """As many of ``lines`` as fit in ``limit`` characters, whole, with ``more(n)`` saying how
    many are left out; a line that alone would not fit is shortened. A long list is so never
    cut mid-line, and its reader learns that it goes on."""
    room = limit - len(more(len(lines))) - 1
    lines = [truncate(line, room) for line in lines]
    shown: list[str] = []
    for line in lines:
        left = len(lines) - len(shown) - 1
        if len("\n".join([*shown, line, *([more(left)] if left else [])])) > limit:
            break
        shown.append(line)
    if len(shown) < len(lines):
        shown.append(more(len(lines) - len(shown)))
    return "\n".join(shown)
