"""Fuzz: kick-watchtime-bot's rows as its database may hand them over once a column has been
retyped by hand. Every column value is anything a PostgreSQL driver can return: None, text
(with NUL, lone surrogates, over-long), bytes and memoryview (bytea), Decimal (NUMERIC, NaN,
infinity, 1E+999999999), floats, integers of any size, bools, dates, naive and aware datetimes,
and text that looks like a time or a number.

Property: each row check (:mod:`core.features.importers.kwb_checks`) answers a typed row whose
values fit the columns they go into, an aside, or a problem of one printable line; it never
raises. The StreamElements balance check is fed the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from core.features.importers import kwb_checks as checks
from core.features.importers.kwb_checks import Aside, Problem
from core.features.importers.source_values import (
    EARLIEST,
    LATEST,
    MINUTES_MAX,
    NAME_MAX,
    PRIZE_MAX,
    ROLE_NAME_MAX,
    SNOWFLAKE_MAX,
    TICKETS_MAX,
    Unfit,
    whole_number,
)
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

_DECIMALS = [Decimal("12.5"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"),
             Decimal("1E+999999999"), Decimal("1E-999999999"), Decimal("600.000")]  # fmt: skip
_TEXTS = ["2026-09-01 12:00:00", "2026-09-01T12:00:00+05:30", "infinity", "-infinity",
          "0044-03-15 BC", "10000-01-01", "2026-09-01", "yesterday", "12.5", " 600 ",
          "-5", "9" * 31, "kick"]  # fmt: skip

values = st.one_of(
    st.none(),
    st.sampled_from(NASTY + _DECIMALS + _TEXTS),
    st.text(max_size=120),
    st.text(min_size=90, max_size=260),
    st.binary(max_size=40),
    st.binary(max_size=40).map(memoryview),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.datetimes().map(str),
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A column's value: a good one three times in four, so that whole rows get through."""
    return st.integers(0, 3).flatmap(lambda pick: good if pick else values)


names = mostly(st.from_regex(r"[A-Za-z0-9_]{1,25}", fullmatch=True))
numbers = mostly(st.integers(0, 10**6) | st.integers(0, 10**6).map(str))
# The other bot wrote naive UTC: naive datetimes are what its TIMESTAMP columns hold.
naive = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31))  # noqa: DTZ001
moments = mostly(st.none() | naive | naive.map(str))
flags = mostly(st.none() | st.booleans())


def assert_problem(problem: Problem, table: str) -> None:
    assert problem.table == table
    assert problem.text.endswith("; left out")
    assert problem.text.isprintable()  # one line, no control characters
    problem.text.encode("utf-8")  # no lone surrogate


def assert_text(value: object, limit: int, *, blank: bool = False, name: bool = True) -> None:
    assert isinstance(value, str)
    assert not name or value.isprintable()
    assert len(value) <= limit
    assert "\x00" not in value
    value.encode("utf-8")
    assert blank or value.strip()


def assert_whole(value: object, low: int, high: int) -> None:
    assert type(value) is int
    assert low <= value <= high


def assert_moment(value: object, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    assert isinstance(value, datetime)
    assert value.tzinfo is UTC
    assert EARLIEST <= value < LATEST


def outcome(target: str, checked: Any, table: str) -> bool:
    """Record and check an aside or problem; True when ``checked`` is a typed row."""
    if isinstance(checked, Problem):
        assert_problem(checked, table)
        record(target, "problem")
        return False
    if isinstance(checked, Aside):
        assert checked.table == table
        record(target, f"aside: {checked.reason}")
        return False
    record(target, "row")
    return True


@given(names, numbers, moments)
@example("bob", Decimal("12.5"), None)
@example("bob", 2**63 - 1, "2026-09-01 12:00:00")
@example("bob\x00", 5, None)
@example(b"bob", 5, "last tuesday")
def test_a_watchtime_row_is_typed_or_a_problem(username: Any, minutes: Any, last: Any) -> None:
    row = checks.watch_row(username, minutes, last)
    if outcome("kwb-watchtime-row", row, checks.WATCHTIME):
        assert_text(row.username, NAME_MAX)
        assert_whole(row.minutes, 0, MINUTES_MAX)
        assert_moment(row.last_active)


@given(numbers, names, moments, mostly(st.sampled_from(["kick", "twitch", "Kick "])))
@example(9002, None, None, "kick")
@example(9002, "bob", "infinity", "kick")
def test_a_link_row_is_typed_aside_or_a_problem(discord: Any, name: Any, at: Any,
                                                platform: Any) -> None:  # fmt: skip
    row = checks.link_row(discord, name, at, platform)
    if outcome("kwb-link-row", row, checks.LINKS):
        assert_whole(row.discord_id, 1, SNOWFLAKE_MAX)
        assert_text(row.kick_name, NAME_MAX)
        assert_moment(row.linked_at)


@given(numbers, names, numbers, flags, st.one_of(st.none(), values))
def test_a_role_row_is_typed_or_a_problem(role_id: Any, name: Any, minutes: Any, enabled: Any,
                                          server: Any) -> None:  # fmt: skip
    row = checks.role_row(role_id, name, minutes, enabled, server)
    if outcome("kwb-role-row", row, checks.ROLE_TIERS):
        assert_whole(row.id, 0, SNOWFLAKE_MAX)
        assert_text(row.role_name, ROLE_NAME_MAX)
        assert_whole(row.minutes_required, 0, 10_000_000)
        assert isinstance(row.enabled, bool)


@given(numbers, numbers, names, numbers)
@example(1, 9001, "Alice_W", Decimal("1E+999999999"))
def test_a_ticket_row_is_typed_aside_or_a_problem(row_id: Any, discord: Any, name: Any,
                                                  tickets: Any) -> None:  # fmt: skip
    row = checks.ticket_row(row_id, discord, name, tickets)
    if outcome("kwb-ticket-row", row, checks.TICKETS):
        assert_whole(row.id, 0, SNOWFLAKE_MAX)
        assert_whole(row.discord_id, 1, SNOWFLAKE_MAX)
        assert_text(row.kick_name, NAME_MAX)
        assert_whole(row.tickets, 1, TICKETS_MAX)


@given(numbers, numbers, names, mostly(st.none() | st.text(max_size=30)), moments, moments,
       moments, st.one_of(st.none(), numbers))  # fmt: skip
@example(1, 9001, "Alice_W", b"$50\x000", None, None, None, None)
@example(1, 9001, "Alice_W", memoryview(b"$50"), None, None, None, 80)
def test_a_winner_row_is_typed_or_a_problem(draw: Any, discord: Any, name: Any, prize: Any,
                                            drawn: Any, start: Any, end: Any,
                                            tickets: Any) -> None:  # fmt: skip
    row = checks.winner_row(draw, discord, name, prize, drawn, start, end, tickets)
    if outcome("kwb-winner-row", row, checks.WINNERS):
        assert_whole(row.id, 0, SNOWFLAKE_MAX)
        assert_whole(row.discord_id, 1, SNOWFLAKE_MAX)
        assert_text(row.kick_name, NAME_MAX)
        assert_text(row.prize, PRIZE_MAX, blank=True, name=False)
        for moment in (row.drawn_at, row.period_start, row.period_end):
            assert_moment(moment)
        if row.period_tickets is not None:
            assert_whole(row.period_tickets, 0, TICKETS_MAX)


@given(mostly(st.integers(-5, 10**10)))
def test_a_balance_is_a_whole_number_in_range_or_unfit(value: Any) -> None:
    try:
        number = whole_number(value, "the balance", high=1_000_000_000)
    except Unfit as unfit:
        why = str(unfit)
    else:
        assert_whole(number, 0, 1_000_000_000)
        record("se-balance", "whole")
        return
    assert why.isprintable()
    why.encode("utf-8")
    record("se-balance", "unfit")
