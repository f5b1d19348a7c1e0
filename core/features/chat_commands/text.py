"""Untrusted chat text made safe to store, to show and to say back in chat.

Viewers choose what they type and what they are called. Before such text is kept or repeated:
compatibility forms are folded (a full-width exclamation mark becomes ``!``), invisible characters
(zero-width spaces and joiners, direction overrides, fillers that render as blanks, variation
selectors and the combining grapheme joiner: every default-ignorable code point) and control
characters are dropped, and runs of whitespace become one space. Anything the bot says in chat
also loses leading command characters, so that no line of ours can set off another chat bot.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 15.1; Python's
# unicodedata has no such property): what renderers draw as nothing when they do not support it.
# Most are format or unassigned characters (dropped by category below as well); the others are
# marks and letters: the combining grapheme joiner, the Hangul fillers, Khmer's inherent vowels,
# Mongolian's free variation selectors and the variation selectors. So an emoji's presentation
# selector goes too ("\u2764\ufe0f" is kept as "\u2764", which may then be drawn as text).
DEFAULT_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, direction marks
    (0x202A, 0x202E),  # direction embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, direction isolates, deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors 1-16 (VS16 asks for an emoji's colour form)
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned, reserved as ignorable
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical beam and phrase controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors 17-256, and the rest of the block
)
# Dropped whatever their category: the default-ignorable ones, and the braille blank (not
# ignorable, but shown as a blank though Unicode files it as a symbol).
INVISIBLE = frozenset(
    chr(code) for low, high in DEFAULT_IGNORABLE_RANGES for code in range(low, high + 1)
) | frozenset("\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
MARKS_PER_LETTER = 2  # combining marks kept on one letter: an accent or two, never a zalgo tower
_MARKS = frozenset({"Mn", "Me"})  # nonspacing and enclosing: what zalgo stacks
COMMAND_CHARACTERS = "!/\\.$?~#@%&+=>-:;"  # prefixes chat bots listen for
# How Kick writes an emote in chat text: [emote:<id>:<name>].
KICK_EMOTE = re.compile(r"\[emote:\d+:[^\[\]\s]*\]", re.ASCII)


def clean_text(text: str) -> str:
    """``text`` folded (NFKC), without invisible characters, on one line with single spaces."""
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(
        " " if char.isspace() else char
        for char in folded
        if char.isspace()
        or (char not in INVISIBLE and unicodedata.category(char) not in _INVISIBLE_CATEGORIES)
    )
    return " ".join(kept.split())


def few_marks(text: str) -> str:
    """``text`` with at most :data:`MARKS_PER_LETTER` combining marks on each letter (zalgo's
    stacks of marks would be drawn over the words around them)."""
    kept: list[str] = []
    run = 0
    for char in text:
        run = run + 1 if unicodedata.category(char) in _MARKS else 0
        if run <= MARKS_PER_LETTER:
            kept.append(char)
    return "".join(kept)


def without_emotes(text: str) -> str:
    """``text`` with each Kick emote a space: a viewer's emote is no word of a command."""
    return KICK_EMOTE.sub(" ", text)


def without_command_prefix(text: str) -> str:
    """``text`` without the command characters (``!``, ``/`` ...) and spaces it starts with."""
    return text.lstrip(COMMAND_CHARACTERS + " ")


def chat_safe(text: str) -> str:
    """What the bot may say in chat: clean, and not starting like a command."""
    return without_command_prefix(clean_text(text))
