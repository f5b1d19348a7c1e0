"""Fuzz: the arguments of ``!join`` / ``!heist`` and of ``!heistset``.

Property: the parsers return a request within the rules or refuse with a short answer for chat
(HeistRefused); nothing else escapes. Well-formed arguments in any order and case parse to
what they say.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.features.heist.rules import (
    AMOUNT_DIGITS,
    MAX_STAKE,
    RISKS,
    SETTINGS,
    HeistRefused,
    HeistRules,
    parse_join,
    parse_setting,
    stake_for,
)
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

WORDS = ["all", "half", "low", "medium", "high", "LOW", "0", "-5", "1e3", "1,000", "٣", "²"]
arguments = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(WORDS) | st.integers(-10, 10**12).map(str), max_size=4).map(" ".join),
    st.sampled_from([str(value) for value in NASTY]),
)


@given(arguments, st.integers(0, 2 * MAX_STAKE))
def test_join_arguments_parse_within_the_rules_or_are_refused(text: str, balance: int) -> None:
    target = "heist-join-arguments"
    try:
        request = parse_join(text)
    except HeistRefused as refused:
        answer = str(refused)
    else:
        answer = ""
    if answer:
        assert len(answer) <= 120
        record(target, "refused")
        return
    assert request.risk in (None, *RISKS)
    assert (request.amount is None) != (request.portion is None)
    if request.amount is not None:
        assert 0 < request.amount <= 10**AMOUNT_DIGITS
    stake = stake_for(request, balance, HeistRules())
    assert stake >= 0
    record(target, "parsed")


@given(
    st.integers(1, MAX_STAKE) | st.sampled_from(["all", "half"]),
    st.sampled_from([None, *RISKS]),
    st.booleans(),
    st.booleans(),
)
def test_well_formed_joins_mean_what_they_say(amount, risk, risk_first, upper) -> None:
    words = [str(amount)] + ([risk] if risk else [])
    if risk_first:
        words.reverse()
    text = " ".join(words)
    request = parse_join(text.upper() if upper else text)
    assert request.risk == risk
    if isinstance(amount, int):
        assert request.amount == amount
    else:
        assert request.portion == amount
    record("heist-join-well-formed", "parsed")


@given(st.sampled_from(sorted(SETTINGS)), arguments)
def test_settings_values_parse_or_are_refused(name: str, value: str) -> None:
    try:
        stored = parse_setting(name, value)
    except HeistRefused as refused:
        answer = str(refused)
    else:
        answer = ""
    if answer:
        assert len(answer) <= 200
        record("heistset-values", "refused")
        return
    assert 0 < len(stored) <= 32  # fits heist_settings.value
    record("heistset-values", "parsed")
