"""A plain progress bar on standard error, for the slow part of an import (asking a platform
about each name): shown on a terminal, or for a long list, and never on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

LONG = 200  # items from which a bar is worth showing even when stderr is not a terminal


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.shown = total > 0 and (self.stream.isatty() or total >= LONG)
        self._step = max(1, total // 100)

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.shown and (self.done % self._step == 0 or self.done >= self.total):
            width = 30
            filled = width * self.done // self.total
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def bar_for(label: str, stream: TextIO | None = None):  # type: ignore[no-untyped-def]
    """A factory of bars with this label: ``bar_for("Kick names")(total)``."""
    return lambda total: Progress(label, total, stream)
