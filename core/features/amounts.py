"""Whole amounts as viewers and admins type them: ``1500``, ``1,500`` or ``1_500``.

A comma is read as a thousands separator only where it cannot mean anything else: every group
after the first has exactly three digits (``1,500``, ``12,345,678``). ``1,5`` could be 15 or
one and a half (a decimal comma), ``12,3456`` is no grouping anyone writes, so both are refused
rather than guessed (``!pointsgive kick:carol 1,5`` used to give 15).
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[0-9]+", flags=re.ASCII)
# One kind of separator, every group after the first exactly three digits.
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:_[0-9]{3})+", flags=re.ASCII)
# Digits with separators that are not thousands grouping: refused as ambiguous.
_SEPARATED = re.compile(r"[0-9][0-9,_]*", flags=re.ASCII)


class AmountNotUnderstood(ValueError):
    """The text is not a whole amount; ``str()`` says why, for the person who typed it.
    ``ambiguous``: digits and separators that are not thousands grouping (``1,5``);
    ``too_large``: a well-formed number with more than ``max_digits`` significant digits."""

    def __init__(self, message: str, *, ambiguous: bool = False, too_large: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        self.too_large = too_large


def parse_whole_amount(text: str, *, max_digits: int = 30) -> int:
    """The whole number ``text`` means (``0`` and leading zeros allowed; the caller checks the
    range). Raises :class:`AmountNotUnderstood` for anything else, with a reason a viewer can
    act on when the comma is ambiguous."""
    word = text.strip()
    if _PLAIN.fullmatch(word) or _GROUPED.fullmatch(word):
        digits = word.replace(",", "").replace("_", "").lstrip("0")
        if len(digits) > max_digits:
            raise AmountNotUnderstood(f"{word[:20]!r} is too large.", too_large=True)
        return int(digits or "0")  # leading zeros dropped: int() refuses 4,300 digits and more
    if _SEPARATED.fullmatch(word):
        raise AmountNotUnderstood(
            f"{word[:20]!r} can be read two ways: type it without commas, like 1500, "
            "or with one before every three digits, like 1,500.",
            ambiguous=True,
        )
    raise AmountNotUnderstood(f"{word[:20]!r} is not a whole number.")
