"""The one parser of typed amounts (``core/features/amounts.py``): thousands grouping is read,
a comma that could be a decimal comma or no grouping at all is refused, never guessed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.features.amounts import AmountNotUnderstood, parse_whole_amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("15", 15),
        (" 1500 ", 1500),
        ("1,500", 1500),
        ("12,345,678", 12_345_678),
        ("1_000", 1000),
        ("0", 0),
        ("007", 7),
    ],
)
def test_plain_and_grouped_amounts(text, amount):
    assert parse_whole_amount(text) == amount


@pytest.mark.parametrize("text", ["1,5", "1,50", "12,3456", "1,500,00", ",500", "1,500,", "1,_500"])
def test_ambiguous_commas_are_refused(text):
    with pytest.raises(AmountNotUnderstood) as refused:
        parse_whole_amount(text)
    if text[0].isdigit():
        assert refused.value.ambiguous
        assert "can be read two ways" in str(refused.value)


@pytest.mark.parametrize("text", ["", "lots", "-5", "1.5", "1e3", "٣", "²", "1 000"])
def test_non_numbers_are_refused(text):
    with pytest.raises(AmountNotUnderstood) as refused:
        parse_whole_amount(text)
    assert not refused.value.ambiguous


def test_too_many_digits_is_too_large():
    with pytest.raises(AmountNotUnderstood) as refused:
        parse_whole_amount("99999999999", max_digits=10)
    assert refused.value.too_large
    assert parse_whole_amount("0000000000099", max_digits=10) == 99


@pytest.mark.parametrize(
    ("text", "amount"), [("0" * 5000 + "1", 1), ("0" * 5000, 0), (",".join(["000"] * 2000), 0)]
)
def test_any_number_of_leading_zeros_is_read(text, amount):
    """Python's int() refuses 4,300 digits and more, leading zeros included: they go first."""
    assert parse_whole_amount(text) == amount


def test_a_huge_number_behind_leading_zeros_is_too_large_not_a_crash():
    with pytest.raises(AmountNotUnderstood) as refused:
        parse_whole_amount("0" * 5000 + "9" * 5000)
    assert refused.value.too_large
    assert len(str(refused.value)) < 100


@given(st.integers(0, 10**15))
def test_every_number_reads_back_plain_and_grouped(number):
    assert parse_whole_amount(str(number)) == number
    assert parse_whole_amount(f"{number:,}") == number
    assert parse_whole_amount(f"{number:_}") == number


@given(st.text(alphabet="0123456789,_ ", max_size=20))
def test_an_accepted_amount_is_the_digits_typed_and_its_grouping_is_thousands(text):
    try:
        number = parse_whole_amount(text)
    except AmountNotUnderstood:
        return
    word = text.strip()
    assert number == int(word.replace(",", "").replace("_", ""))
    if "," in word or "_" in word:
        # Accepted with separators only as exact thousands grouping: the way it prints.
        separator = "," if "," in word else "_"
        assert word.lstrip("0" + separator) == f"{number:{separator}}" or number == 0
        assert all(len(group) == 3 for group in word.split(separator)[1:])


@given(st.integers(1, 99), st.integers(0, 10**6).map(str).filter(lambda g: len(g) != 3))
def test_a_comma_before_fewer_or_more_than_three_digits_is_refused(whole, fraction):
    with pytest.raises(AmountNotUnderstood) as refused:
        parse_whole_amount(f"{whole},{fraction}")
    assert refused.value.ambiguous
