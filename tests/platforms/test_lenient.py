"""The lenient readers every platform parser reads through (``core/platforms/lenient.py``): what
each makes of a value, and that no JSON value makes one raise or return something unbounded."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.platforms.lenient import (
    COUNT_MAX,
    ID_MAX,
    ITEMS_MAX,
    TEXT_MAX,
    as_bool,
    as_count,
    as_flag,
    as_id,
    as_int,
    as_list,
    as_str,
    as_text,
    as_time,
    as_word,
    parsed_json,
)
from tests.fuzz.strategies import NASTY, json_values


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (12, 12),
        ("12", 12),
        (" 7 ", 7),
        (3.0, 3),
        (-5, 0),  # a negative count is none
        (10**12, COUNT_MAX),  # more than any count is the most
        (3.5, None),
        ("many", None),
        (True, None),
        (None, None),
        (2**70, None),  # not a 64-bit number at all
    ],
)
def test_a_count_is_a_whole_number_cut_to_its_range(value, count):
    assert as_count(value) == count


def test_a_count_takes_its_own_ceiling():
    assert as_count(10**11, high=10**11) == 10**11
    assert as_count(10**12, high=10**11) == 10**11


@pytest.mark.parametrize(
    ("value", "default", "flag"),
    [
        (True, False, True),
        (False, True, False),
        ("true", False, True),
        ("0", True, False),
        (1, False, True),
        (None, True, True),
        ("perhaps", True, True),
        (2, False, False),
    ],
)
def test_a_flag_reads_yes_or_no_and_else_keeps_its_default(value, default, flag):
    assert as_flag(value, default) is flag


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("title", "title"),
        (None, ""),
        ({"a": 1}, ""),
        (42, "42"),
        ("a\x00b", "ab"),
        ("\ud800", "\ufffd"),
    ],
)
def test_str_is_text_or_blank(value, text):
    assert as_str(value) == text


def test_text_is_cut_to_its_limit():
    assert as_str("x" * 50, 10) == "x" * 10
    assert as_text("x" * (TEXT_MAX + 1)) == "x" * TEXT_MAX


def test_a_list_is_read_up_to_its_limit():
    assert as_list(list(range(ITEMS_MAX + 5))) == list(range(ITEMS_MAX))
    assert as_list([1, 2, 3], limit=2) == [1, 2]
    assert as_list({"a": 1}) == []


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-11-26T01:02:03Z", datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)),
        # Twitch sends nanoseconds: cut to microseconds.
        ("2019-11-16T10:11:12.634234626Z", datetime(2019, 11, 16, 10, 11, 12, 634234, tzinfo=UTC)),
        ("2026-11-26T03:02:03+02:00", datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)),
        ("2026-11-26T01:02:03", datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)),  # no offset: UTC
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),  # leap second
        ("2026-02-30T00:00:00Z", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_a_time_is_rfc_3339_read_leniently_and_always_utc(value, moment):
    assert as_time(value) == moment


@given(json_values | st.sampled_from(NASTY))
def test_no_value_makes_a_reader_raise_or_return_anything_unbounded(value: Any):
    identifier = as_id(value)
    assert identifier is None or (0 < len(identifier) <= ID_MAX and identifier.isprintable())
    text = as_str(value, 100)
    assert len(text) <= 100
    assert "\x00" not in text
    count = as_count(value)
    assert count is None or 0 <= count <= COUNT_MAX
    number = as_int(value)
    assert number is None or -(2**63) <= number < 2**63
    assert as_bool(value) in (None, True, False)
    assert as_flag(value, True) in (True, False)
    assert len(as_list(value)) <= ITEMS_MAX
    moment = as_time(value)
    assert moment is None or moment.utcoffset() is not None


ODD_JSON = [
    "Infinity",
    "[-Infinity]",
    '{"a": NaN}',
    "1e400",
    "[" * 5000 + "]" * 5000,
    '{"a": ' * 3000 + "1" + "}" * 3000,
    "9" * 5000,
    "",
    "\ud800",
    "\x00",
]


@pytest.mark.parametrize("body", ODD_JSON, ids=range(len(ODD_JSON)))
def test_a_reply_json_cannot_hold_is_a_value_error(body: str):
    """What Python's reader takes but JSON has not (Infinity, NaN, a float past its range), and
    what it cannot read without a RecursionError, are the one error every caller catches."""
    with pytest.raises(ValueError, match=r"."):
        parsed_json(body)
    with pytest.raises(ValueError, match=r"."):
        parsed_json(body.encode("utf-8", "surrogatepass"))


@given(json_values)
def test_any_json_a_partner_may_send_reads_back_as_sent(value: Any):
    assert parsed_json(json.dumps(value)) == value


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_parsed_json_raises_nothing_but_value_error(body: str | bytes):
    with contextlib.suppress(ValueError):
        parsed_json(body)


def test_a_whole_number_in_digits_is_read_exactly_past_a_floats_precision():
    """Discord sends ids and permission bits as strings of digits; a float would change the
    last digits of an 18-digit id."""
    assert as_int("111111111111111111") == 111111111111111111
    assert as_int(" -9007199254740993 ") == -9007199254740993
    assert as_int("1.5e3") == 1500
    assert as_int("9" * 30) is None  # past the 64-bit range


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("  Accepted \t", "accepted"),
        ("REJECTED", "rejected"),
        (" " * 40 + "pending", "pending"),
        ("x" * 40, "x" * 32),
        ("\u0130" * 32, "i\u0307" * 16),  # lowercase is longer: cut after lowering
        ("a" * 31 + " b", "a" * 31),
        ("   ", None),
        ("", None),
        (True, None),
        (None, None),
        ({"status": "accepted"}, None),
    ],
)
def test_a_word_is_trimmed_lowercase_and_at_most_32_characters(value: Any, word: Any) -> None:
    """A status or a tier, as Kick's and Twitch's replies and webhooks are read."""
    assert as_word(value) == word
