"""Cursor paging as the fakes of Kick and Twitch page: a cursor is the base64 of the offset
where the next page starts (neither platform says what its cursors hold)."""

from __future__ import annotations

import base64
from typing import Any


class BadCursor(ValueError):
    """A cursor the fake never gave; each fake answers it in its platform's words."""


def offset_page(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    """The page of ``items`` at ``cursor`` (from the start without one), at most ``size``
    long, and the cursor of the next page (None after the last)."""
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except ValueError:
            raise BadCursor(cursor) from None
    end = start + size
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following
