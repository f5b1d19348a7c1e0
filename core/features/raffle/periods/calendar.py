"""Period dates in a guild's time zone. A period runs from ``starts_at`` up to, not including,
``ends_at``; a monthly one from the 1st 00:00 to the next 1st 00:00 (shown as the last day
23:59:59)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.events import utc

MAX_PERIOD_DAYS = 366  # a period set by hand: a year at most


class BadDates(ValueError):
    """The dates make no period; the message is for the user."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadDates(f"{name!r} is not a time zone I know (try Europe/Berlin or UTC).") from exc


def local_midnight(day: date, time_zone: str) -> datetime:
    return utc(datetime.combine(day, time.min, tzinfo=zone(time_zone)))


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
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
    except ValueError as exc:
        raise BadDates("Give both dates as YYYY-MM-DD, e.g. 2026-03-01 2026-03-31.") from exc
    if end < start:
        raise BadDates("The end date comes before the start date.")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise BadDates(f"A period lasts at most {MAX_PERIOD_DAYS} days.")
    try:
        return local_midnight(start, time_zone), local_midnight(end + timedelta(days=1), time_zone)
    except OverflowError as exc:  # the first or the last day the calendar has
        raise BadDates("Those dates are out of range; pick this year's or the next.") from exc


def next_period(previous_end: datetime, now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The period after one that ended at ``previous_end``: on from there (or from the start of
    the current month, when the bot missed whole months) to the end of that month."""
    starts_at = max(utc(previous_end), month_start(now, time_zone))
    return starts_at, month_end(starts_at, time_zone)
