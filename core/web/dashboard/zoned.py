"""A moment as a server's raffle counts it: in its time zone, in words ("1 March 2026, 00:00
(Europe/Berlin)"), so a Berlin March raffle does not read as starting in February. Stored and
exported times stay UTC; the page keeps the exact value in its ``<time datetime>``."""

from __future__ import annotations

from datetime import datetime

from core.features.raffle.periods.calendar import BadDates, in_words
from core.features.raffle.periods.repository import Period


def in_zone(moment: datetime, time_zone: str, *, named: bool = True) -> str:
    """``moment`` (naive: UTC) in ``time_zone``; ``named``: with the zone's name after it. A
    zone this host does not know leaves the moment in UTC, said so."""
    try:
        shown = in_words(moment, time_zone)
    except BadDates:  # no longer in this host's zone database
        shown, time_zone = in_words(moment, "UTC"), "UTC"
    return f"{shown} ({time_zone})" if named else shown


def period_kept(current: Period | None, time_zone: str) -> str:
    """After the raffle's time zone changed to ``time_zone``: the open (or scheduled) period
    keeps its dates, its end said in the new zone; nothing without one. Follows the
    "Saved: ..." list."""
    if current is None:
        return ""
    return (
        f". Period #{current.id} keeps its dates: it ends {in_zone(current.ends_at, time_zone)}. "
        "The new time zone counts from the next period on"
    )
