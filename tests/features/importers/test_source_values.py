"""What the importers accept from another bot's columns, and how they say no."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from core.features.importers.source_values import (
    MINUTES_MAX,
    Unfit,
    flag,
    moment,
    text,
    whole_number,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (600, 600),
        ("600", 600),
        (" 600 ", 600),
        (Decimal("600.000"), 600),
        (600.0, 600),
        (MINUTES_MAX, MINUTES_MAX),
    ],
)
def test_whole_minutes_of_any_type_are_read(value, expected):
    assert whole_number(value, "minutes", high=MINUTES_MAX) == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "minutes is empty (NULL)"),
        (Decimal("12.5"), "minutes is 12.5, not a whole number"),
        (12.5, "minutes is 12.5, not a whole number"),
        (-1, "minutes is -1, negative"),
        (MINUTES_MAX + 1, "minutes is 52,560,001, over the ceiling of 52,560,000"),
        (2**63 - 1, "minutes is 9,223,372,036,854,775,807, over the ceiling of 52,560,000"),
        (10**400, "minutes is a number of about 400 digits, over the ceiling of 52,560,000"),
        (Decimal("1E+999999999"), "minutes is a number of about 10^999999999, over the ceiling"),
        (Decimal("NaN"), "minutes is NaN, not a number"),
        (float("inf"), "minutes is inf, not a number"),
        (True, "minutes is True (true/false), not a number"),
        ("lots", "minutes is 'lots', not a whole number"),
        (b"600", "minutes is binary data, not a number"),
    ],
)
def test_minutes_that_are_no_minutes_are_refused_with_the_reason(value, why):
    with pytest.raises(Unfit) as refused:
        whole_number(value, "minutes", high=MINUTES_MAX)
    assert str(refused.value).startswith(why)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (datetime(2026, 9, 1, 12, 0), datetime(2026, 9, 1, 12, 0, tzinfo=UTC)),  # noqa: DTZ001
        (
            datetime(2026, 9, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 9, 1, 12, 0, tzinfo=UTC),
        ),
        ("2026-09-01 12:00:00", datetime(2026, 9, 1, 12, 0, tzinfo=UTC)),
        ("2026-09-01T14:00:00+02:00", datetime(2026, 9, 1, 12, 0, tzinfo=UTC)),
        ("2026-09-01 12:00:00+00", datetime(2026, 9, 1, 12, 0, tzinfo=UTC)),  # timestamptz::text
    ],
)
def test_times_naive_aware_or_iso_text_are_read_as_utc(value, expected):
    assert moment(value, "linked_at") == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("last tuesday", "linked_at is 'last tuesday', not a date and time"),
        ("infinity", "linked_at is 'infinity', not a date and time"),
        (date(2026, 9, 1), "linked_at is a date without a time (2026-09-01)"),
        (datetime(1, 1, 1), "linked_at is in the year 1, not a date the other bot wrote"),  # noqa: DTZ001
        (1_700_000_000, "linked_at is a whole number, not a date and time"),
    ],
)
def test_times_that_are_no_times_are_refused(value, why):
    with pytest.raises(Unfit) as refused:
        moment(value, "linked_at")
    assert str(refused.value) == why


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "the prize is empty (NULL)"),
        (b"$50\x00", "the prize is binary data (4 bytes), not text"),
        (memoryview(b"$50"), "the prize is binary data (3 bytes), not text"),
        ("$50\x00", "the prize '$50\\x00' holds a NUL character"),
        ("\ud800", "holds characters that are not valid text"),
        ("$" * 201, "the prize is 201 characters long; at most 200 fit"),
        (50, "the prize is a whole number, not text"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_never_cleaned(value, why):
    with pytest.raises(Unfit) as refused:
        text(value, "the prize", limit=200)
    assert why in str(refused.value)


def test_a_name_is_one_line_a_prize_need_not_be():
    assert text("$50\ngift card", "the prize", limit=200) == "$50\ngift card"
    with pytest.raises(Unfit) as refused:
        text("bob\nalice", "the Kick name", limit=100, name=True)
    assert str(refused.value) == (
        "the Kick name 'bob\\nalice' holds a line break or a control character"
    )


def test_enabled_is_yes_no_or_the_default():
    assert flag(None, "enabled") is True
    assert flag(False, "enabled") is False
    with pytest.raises(Unfit, match="enabled is 'yes', not yes/no"):
        flag("yes", "enabled")
