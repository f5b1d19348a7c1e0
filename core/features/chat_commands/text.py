"""Untrusted chat text made safe to store, to show and to say back in chat.

Viewers choose what they type and what they are called. Before such text is kept or repeated:
compatibility forms are folded (a full-width exclamation mark becomes ``!``), invisible characters
(zero-width spaces and joiners, direction overrides, fillers that render as blanks) and control
characters are dropped, and runs of whitespace become one space. Anything the bot says in chat
also loses leading command characters, so that no line of ours can set off another chat bot.
"""

from __future__ import annotations

import unicodedata

# Shown as nothing or as a blank, though Unicode files them as letters or symbols.
_BLANK_LOOKING = frozenset("\u115f\u1160\u180e\u2800\u3164\uffa0")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
COMMAND_CHARACTERS = "!/\\.$?~#@%&+=>-:;"  # prefixes chat bots listen for


def clean_text(text: str) -> str:
    """``text`` folded (NFKC), without invisible characters, on one line with single spaces."""
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(
        " " if char.isspace() else char
        for char in folded
        if char.isspace()
        or (char not in _BLANK_LOOKING and unicodedata.category(char) not in _INVISIBLE_CATEGORIES)
    )
    return " ".join(kept.split())


def without_command_prefix(text: str) -> str:
    """``text`` without the command characters (``!``, ``/`` ...) and spaces it starts with."""
    return text.lstrip(COMMAND_CHARACTERS + " ")


def chat_safe(text: str) -> str:
    """What the bot may say in chat: clean, and not starting like a command."""
    return without_command_prefix(clean_text(text))
