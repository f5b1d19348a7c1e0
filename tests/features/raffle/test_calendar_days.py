"""``!rafflesetdate`` with a day the calendar does not have (the 29th of February in a common
year, the 31st of a 30-day month) says which day and why, not "Give both dates as
YYYY-MM-DD" to a streamer who did."""

from __future__ import annotations

import pytest

from core.features.raffle.periods.calendar import BadDates, parse_dates


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2027-02-29", "2027-03-31", "2027-02-29 is not a day: February 2027 has 28 days."),
        ("2026-04-01", "2026-04-31", "2026-04-31 is not a day: April 2026 has 30 days."),
        ("2026-13-01", "2026-12-31", "2026-13-01 is not a day: a year has 12 months."),
        ("2026-04-00", "2026-04-30", "2026-04-00 is not a day: April 2026 has 30 days."),
        ("june", "july", "Give both dates as YYYY-MM-DD, e.g. 2026-03-01 2026-03-31."),
    ],
)
def test_a_day_the_calendar_lacks_is_named(first: str, last: str, message: str) -> None:
    with pytest.raises(BadDates) as refused:
        parse_dates(first, last, "UTC")
    assert str(refused.value) == message


def test_the_leap_day_of_a_leap_year_is_a_day() -> None:
    starts_at, ends_at = parse_dates("2028-02-29", "2028-02-29", "Europe/Berlin")
    assert (ends_at - starts_at).total_seconds() == 24 * 3600
    assert starts_at.isoformat() == "2028-02-28T23:00:00+00:00"
