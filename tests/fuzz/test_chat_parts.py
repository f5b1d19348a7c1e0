"""Fuzz: a chat reply split into the platform's parts (``core/platforms/chat.py``) keeps every
word in order within the length, and no part after the first starts as a command would."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from core.platforms.chat import CONTINUED, split_message
from tests.fuzz.conftest import record

_MARKS = ("!", "\uff01", "/")
_WORDS = st.lists(
    st.one_of(
        st.text(alphabet="ab!\uff01/ .", min_size=1, max_size=30),
        st.text(max_size=12).filter(lambda word: CONTINUED not in word),
    ),
    max_size=30,
)


@given(_WORDS, st.integers(min_value=2, max_value=40))
@example(["x" * 10, "!commands", "edit"], 10)
@example(["!" * 50], 2)
def test_parts_keep_the_words_and_never_open_with_a_command(words: list[str], limit: int) -> None:
    text = " ".join(words)

    parts = split_message(text, limit)

    assert all(0 < len(part) <= limit for part in parts)
    assert not any(part.startswith(_MARKS) for part in parts[1:])
    assert all(part == part.strip() for part in parts)
    unmarked = [
        part[len(CONTINUED) :] if index and part.startswith(CONTINUED) else part
        for index, part in enumerate(parts)
    ]
    said = [ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cc"]
    assert [ch for ch in "".join(unmarked) if not ch.isspace()] == said
    record("chat-parts", f"{min(len(parts), 3)} part(s)")
