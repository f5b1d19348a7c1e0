"""A moment as a server's raffle counts it: in its time zone, in words ("1 March 2026, 00:00
(Europe/Berlin)"), so a Berlin March raffle does not read as starting in February. Stored and
exported times stay UTC; the page keeps the exact value in its ``<time datetime>``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.events import utc
from core.features.raffle.periods.repository import Period

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def in_zone(moment: datetime, time_zone: str, *, named: bool = True) -> str:
    """``moment`` (naive: UTC) in ``time_zone``; ``named``: with the zone's name after it. A
    zone this host does not know leaves the moment in UTC, said so."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone, time_zone = ZoneInfo("UTC"), "UTC"
    local = utc(moment).astimezone(zone)
    shown = f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
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
