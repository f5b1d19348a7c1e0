"""``!heistset`` and the dashboard's heist fields read numbers of ASCII digits only, as every
other number a person types (``core/features/typed_numbers.py``): other scripts' digits were
saved as the number they stand for, unlike anywhere else (fuzzed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.features.heist.rules import SETTINGS, HeistRefused, parse_setting

NUMBERS = [name for name, (kind, _, _) in SETTINGS.items() if kind != "switch" and kind != "risk"]


# Arabic-Indic 3, fullwidth 12, Devanagari 30, a mix, a multiplier: written as escapes.
@pytest.mark.parametrize(
    "typed", ["\u0663", "\uff11\uff12", "\u0969\u0966", "1\u0663", "x1.\u0665"]
)
@pytest.mark.parametrize("name", ["low_chance", "min_bet", "tier_3", "channel"])
def test_other_scripts_digits_are_refused(name: str, typed: str) -> None:
    with pytest.raises(HeistRefused):
        parse_setting(name, typed)


@given(st.sampled_from(NUMBERS), st.text(max_size=30))
def test_a_stored_value_is_ascii_whatever_was_typed(name: str, typed: str) -> None:
    try:
        stored = parse_setting(name, typed)
    except HeistRefused:
        return
    assert stored.isascii()
    assert stored == "none" or stored.isdecimal()


@pytest.mark.parametrize(
    ("name", "typed", "stored"),
    [
        ("max_bet", "50,000", "50000"),
        ("max_bet", "1,000,000,000", "1000000000"),
        ("min_bet", "1_500", "1500"),
        ("cooldown_seconds", "3,600", "3600"),
        ("low_chance", "70%", "70"),
    ],
)
def test_a_number_with_thousands_commas_is_read_as_a_stake_is(name, typed, stored):
    """!heistset max 50,000 was refused with "max_bet is a whole number from 1 to
    1,000,000,000.", itself written with commas, while !join 1,000 takes them."""
    assert parse_setting(name, typed) == stored


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("1,5", "max_bet: '1,5' can be read two ways"),
        ("1,000,000,001", "max_bet is a whole number from 1 to 1,000,000,000."),
        ("99999999999", "max_bet is a whole number from 1 to 1,000,000,000."),
        ("lots", "max_bet is a whole number from 1 to 1,000,000,000."),
    ],
)
def test_a_number_that_is_no_stake_limit_is_refused_with_why(typed, refusal):
    with pytest.raises(HeistRefused) as refused:
        parse_setting("max_bet", typed)
    assert str(refused.value).startswith(refusal)
