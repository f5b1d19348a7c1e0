"""Untrusted chat text made safe: what ``clean_text`` drops and what it keeps."""

from __future__ import annotations

import pytest

from core.features.chat_commands.text import DEFAULT_IGNORABLE_RANGES, chat_safe, clean_text


@pytest.mark.parametrize(("low", "high"), DEFAULT_IGNORABLE_RANGES)
def test_every_default_ignorable_character_is_dropped(low: int, high: int) -> None:
    for code in {low, (low + high) // 2, high}:
        assert clean_text(f"a{chr(code)}b") == "ab", f"U+{code:04X} was kept"


def test_an_emoji_keeps_its_base_character_without_its_presentation_selector() -> None:
    assert clean_text("I \u2764\ufe0f slots \U0001f3b0") == "I \u2764 slots \U0001f3b0"


def test_letters_marks_and_spaces_people_type_are_kept() -> None:
    typed = "Caf\u00e9 \u0915\u094d\u0937 \uac00 \u0645\u0631\u062d\u0628\u0627"
    assert clean_text(typed) == typed
    assert chat_safe("\u034f!\ufe0fcall x") == "call x"
