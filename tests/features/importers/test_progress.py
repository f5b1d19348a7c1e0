"""The import's progress bar: on standard error, only on a terminal or for a long list."""

from __future__ import annotations

import io

from core.features.importers.progress import LONG, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_bar_move_to_the_end():
    stream = Terminal()
    bar = Progress("Asking Kick", 4, stream)
    for _ in range(4):
        bar.advance()
    bar.close()

    text = stream.getvalue()
    assert "\rAsking Kick [#######" in text
    assert text.endswith(f"[{'#' * 30}] 4/4\n")


def test_a_short_list_into_a_pipe_shows_nothing():
    stream = io.StringIO()
    bar = Progress("Asking Kick", 10, stream)
    bar.advance(10)
    bar.close()
    assert stream.getvalue() == ""


def test_a_long_list_shows_the_bar_even_into_a_pipe():
    stream = io.StringIO()
    bar = Progress("Asking Kick", LONG, stream)
    for _ in range(LONG):
        bar.advance()
    bar.close()
    lines = stream.getvalue().split("\r")
    assert len(lines) <= 102  # about one update per percent, not one per name
    assert lines[-1].endswith(f"{LONG}/{LONG}\n")
