"""What slot calls keep of what people type: a slot name cleaned and compared without case or
spaces, a viewer's name as the blacklist keeps and compares it."""

from __future__ import annotations

import unicodedata

from core.features.chat_commands.text import (
    INVISIBLE,
    clean_text,
    few_marks,
    without_command_prefix,
    without_emotes,
)

MAX_USERNAME = 100


def clean_slot_name(text: str) -> str:
    """The slot name to keep: clean text without Kick emotes and the command characters it
    may start with, and a few combining marks a letter at most (zalgo's towers would be drawn
    over the moderators' list)."""
    return few_marks(without_command_prefix(clean_text(without_emotes(text))))


def slot_key(name: str) -> str:
    """What two slot names are compared by: no case, no spaces, no invisible characters and no
    combining marks (a zalgo copy is the same slot; after NFKC a usual accent is part of its
    letter, so "Café" is still not "Cafe")."""
    return "".join(
        char
        for char in name.casefold()
        if not char.isspace()
        and char not in INVISIBLE
        and unicodedata.category(char) not in ("Mn", "Me")
    )


def blacklist_name(text: str) -> str:
    """A viewer name as the blacklist keeps it (and replies show it): clean, without ``@``."""
    return clean_text(text).lstrip("@").strip()[:MAX_USERNAME]


def username_key(name: str) -> str:
    return clean_text(name).lstrip("@").strip().casefold()
