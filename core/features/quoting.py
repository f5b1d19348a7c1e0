"""Text someone typed or a file held, quoted for a problem line.

Python's quotes escape control characters, so the line stays one line; a long value is cut to
its first characters and its length is said, so a megabyte pasted into a setting or a column
makes a short message. The settings' problems (:mod:`core.settings_reader`) and an import's
(:mod:`core.features.importers.source_values`) quote this way; the raffle proof's beacon checks
keep words of their own, which the browser's verifier repeats to the letter.
"""

from __future__ import annotations

SHOWN = 40  # characters of a value quoted in a problem line


def shown(text: str, limit: int = SHOWN) -> str:
    """``text`` quoted, cut to its first ``limit`` characters when longer."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"
