"""Text someone typed or a file held, quoted for a problem line.

Python's quotes escape control characters, so the line stays one line; a long value is cut to
its first characters and its length is said, so a megabyte pasted into a setting or a column
makes a short message. The settings' problems (:mod:`core.settings_reader`) and an import's
(:mod:`core.features.importers.source_values`) quote this way; the raffle proof's beacon checks
keep words of their own, which the browser's verifier repeats to the letter, and ``raffle
verify`` prints each of its lines through :func:`one_line`.
"""

from __future__ import annotations

SHOWN = 40  # characters of a value quoted in a problem line
LINE = 500  # characters of a line of a report that may carry a file's values


def shown(text: str, limit: int = SHOWN) -> str:
    """``text`` quoted, cut to its first ``limit`` characters when longer."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def one_line(text: str, limit: int = LINE) -> str:
    """``text`` for a terminal: every character that is not printable (a line break, an
    escape sequence's ESC) written as its escape, cut to its first ``limit`` characters with
    its length said when longer. For a report line that may carry values from a file."""
    written = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    if len(text) <= limit:
        return written
    return f"{written}... ({len(text):,} characters)"
