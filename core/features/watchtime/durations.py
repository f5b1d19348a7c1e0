"""Durations as people read them, the same in Discord, in stream chat and on the dashboard:
watchtime (:func:`format_duration`), and a setting's or a wait's length
(:func:`describe_seconds`)."""

from __future__ import annotations


def format_duration(seconds: int) -> str:
    """Whole hours and minutes, rounded down: ``0 min``, ``45 min``, ``2 h 05 min``,
    ``1,234 h 05 min``."""
    minutes = max(0, int(seconds)) // 60
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours:,} h {minutes:02d} min"


def describe_seconds(seconds: int) -> str:
    """1 s, 90 s, 5 min, 2 h 30 min, 7 days: the largest units that say it exactly enough."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if seconds < 120:
        return f"{seconds} s"
    units = [(days, "day" if days == 1 else "days"), (hours, "h"), (minutes, "min"), (secs, "s")]
    return " ".join(f"{n} {unit}" for n, unit in units if n)
