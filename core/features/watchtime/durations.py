"""Watchtime as people read it, the same in Discord and in stream chat."""

from __future__ import annotations


def format_duration(seconds: int) -> str:
    """Whole hours and minutes, rounded down: ``0 min``, ``45 min``, ``2 h 05 min``."""
    minutes = max(0, int(seconds)) // 60
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours} h {minutes:02d} min"
