"""Period dates in a guild's time zone. A period runs from ``starts_at`` up to, not including,
``ends_at``; a monthly one from the 1st 00:00 to the next 1st 00:00 (shown as the last day
23:59:59)."""

from __future__ import annotations

import calendar
import functools
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.events import utc

MAX_PERIOD_DAYS = 366  # a period set by hand: a year at most
# The widest gap between two zones' midnights (UTC-12 to UTC+14): how far a period's end set in
# one zone can fall before a month's end in another.
ZONE_SPREAD = timedelta(hours=26)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


class BadDates(ValueError):
    """The dates make no period; the message is for the user."""


# Files of the zone database that are not places: the host's own zone, which moves with the
# machine, and the database's placeholder.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise BadDates(_unknown(name)) from exc


def zone_name(typed: str) -> str:
    """A time zone as someone typed it (``europe/berlin``) -> its name in the zone database
    (``Europe/Berlin``), for storing. Only the database's places: not the host's ``localtime``,
    the ``posix/`` and ``right/`` copies or the database's own files."""
    name = _zone_names().get(typed.strip().lower())
    if name is None:
        raise BadDates(_unknown(typed))
    return name


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() - _NOT_PLACES}


def _unknown(name: str) -> str:
    return f"{name!r} is not a time zone I know (try Europe/Berlin or UTC)."


def local_midnight(day: date, time_zone: str) -> datetime:
    return utc(datetime.combine(day, time.min, tzinfo=zone(time_zone)))


def in_words(moment: datetime, time_zone: str) -> str:
    """``moment`` as the raffle's time zone reads it: "1 March 2026, 00:00" (fixed English
    month names, whatever the host's locale)."""
    local = utc(moment).astimezone(zone(time_zone))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def month_end(moment: datetime, time_zone: str) -> datetime:
    """The first moment of the month after the one ``moment`` falls in, locally."""
    local = utc(moment).astimezone(zone(time_zone))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return local_midnight(date(year, month, 1), time_zone)


def month_start(moment: datetime, time_zone: str) -> datetime:
    local = utc(moment).astimezone(zone(time_zone))
    return local_midnight(date(local.year, local.month, 1), time_zone)


def days_of_this_month(
    now: datetime, time_zone: str, start_day: int | None, end_day: int | None
) -> tuple[datetime, datetime]:
    """A period in the current month from ``start_day`` (default: now) through ``end_day``
    (default: the last day)."""
    local = utc(now).astimezone(zone(time_zone))
    last = calendar.monthrange(local.year, local.month)[1]
    for day in (start_day, end_day):
        if day is not None and not 1 <= day <= last:
            raise BadDates(f"Days of this month go from 1 to {last}.")
    if start_day is not None and end_day is not None and end_day < start_day:
        raise BadDates("The end day comes before the start day.")
    starts_at = (
        utc(now)
        if start_day is None
        else local_midnight(date(local.year, local.month, start_day), time_zone)
    )
    end_date = date(local.year, local.month, end_day or last)
    ends_at = local_midnight(end_date + timedelta(days=1), time_zone)
    if ends_at <= utc(now):
        raise BadDates("That period is already over.")
    return starts_at, ends_at


def parse_dates(first: str, last: str, time_zone: str) -> tuple[datetime, datetime]:
    """``YYYY-MM-DD`` through ``YYYY-MM-DD`` (both whole days) as a period."""
    start, end = _day(first), _day(last)
    if end < start:
        raise BadDates("The end date comes before the start date.")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise BadDates(f"A period lasts at most {MAX_PERIOD_DAYS} days.")
    try:
        return local_midnight(start, time_zone), local_midnight(end + timedelta(days=1), time_zone)
    except OverflowError as exc:  # the first or the last day the calendar has
        raise BadDates(OUT_OF_RANGE) from exc


OUT_OF_RANGE = "Those dates are out of range; pick this year's or the next."
_YYYY_MM_DD = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def _day(typed: str) -> date:
    """``YYYY-MM-DD``; a day the calendar does not have (``2027-02-29``) is refused by name."""
    found = _YYYY_MM_DD.fullmatch(typed.strip())
    if found is None:  # another ISO form (20260301) is taken as before
        try:
            return date.fromisoformat(typed.strip())
        except ValueError as exc:
            raise BadDates("Give both dates as YYYY-MM-DD, e.g. 2026-03-01 2026-03-31.") from exc
    year, month, day = (int(part) for part in found.groups())
    if year == 0:
        raise BadDates(OUT_OF_RANGE)
    if not 1 <= month <= 12:
        raise BadDates(f"{found.group()} is not a day: a year has 12 months.")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        named = f"{MONTHS[month - 1]} {year}"
        raise BadDates(f"{found.group()} is not a day: {named} has {last} days.")
    return date(year, month, day)


def next_period(previous_end: datetime, now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The period after one that ended at ``previous_end``: on from there to the end of that
    month (see :func:`end_of_next_period`), or the current month when the bot missed that
    period whole."""
    starts_at = utc(previous_end)
    ends_at = end_of_next_period(starts_at, time_zone)
    if ends_at <= utc(now):
        starts_at = month_start(now, time_zone)
        ends_at = month_end(starts_at, time_zone)
    return starts_at, ends_at


def end_of_next_period(starts_at: datetime, time_zone: str) -> datetime:
    """The end of the local month ``starts_at`` falls in; the end of the month after it when
    ``starts_at`` is no local midnight and less than ZONE_SPREAD of its month is left.

    A start that is no local midnight is, but for a ``!rafflerestart`` killed before its new
    period, the previous period's end at another zone's midnight: the time zone changed during
    that period. Westwards (UTC to New York) that end is a few
    hours before the local month's, and the rest of the old month would make a period of its
    own, hours long; it goes to the next month instead, so no period is cut short and none
    leaves a gap. Eastwards the start is a few hours into the local month, which is kept.
    """
    ends_at = month_end(starts_at, time_zone)
    local_day = utc(starts_at).astimezone(zone(time_zone)).date()
    is_local_midnight = utc(starts_at) == local_midnight(local_day, time_zone)
    if not is_local_midnight and ends_at - utc(starts_at) < ZONE_SPREAD:
        ends_at = month_end(ends_at, time_zone)
    return ends_at
