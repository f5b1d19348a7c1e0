"""Fuzz: numbers and Discord ids as admins type them in commands and forms
(core/features/typed_numbers.py: draw and rule numbers, page numbers, channel, role and member ids).

Property: anything typed is either None or a whole number in the range asked for, whose digits
are what was typed (leading zeros aside); no text, however long or odd, raises. ``int()`` alone
raises for more than 4,300 digits and the database for more than 2**63 - 1.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.features.typed_numbers import BIGINT_MAX, discord_id, whole_in
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

ODD = ["²", "\u0663", "\uff11\uff12", "-1", "+1", "1e3", "1_000", "1,000", " 42 ", "0x10"]
MENTIONS = ["", "<#", "<@&", "<@", "<@!", "<", "#", "@"]
digits = st.one_of(
    st.from_regex(r"[0-9]{1,25}", fullmatch=True),
    st.integers(min_value=0, max_value=2**70).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=6000).map(lambda n: "0" * n + "7"),
)
typed = st.one_of(
    st.text(max_size=60),
    digits,
    st.tuples(st.sampled_from(MENTIONS), digits, st.sampled_from(["", ">", ">>", " "])).map(
        "".join
    ),
    st.sampled_from(ODD),
    st.sampled_from([value for value in NASTY if isinstance(value, str)]),
)
ranges = st.sampled_from([(0, BIGINT_MAX), (1, BIGINT_MAX), (1, 25), (1, 10_000), (0, 100_000)])


@given(typed, ranges)
def test_a_typed_number_is_one_in_range_or_none(text: str, bounds: tuple[int, int]) -> None:
    low, high = bounds
    number = whole_in(text, low, high)
    if number is None:
        record("typed-numbers", "refused")
        return
    assert low <= number <= high
    assert text.strip().lstrip("0") == (str(number) if number else "")
    record("typed-numbers", "number")


@given(typed)
def test_a_typed_discord_id_fits_the_database_or_is_none(text: str) -> None:
    found = discord_id(text)
    if found is None:
        record("typed-discord-ids", "refused")
        return
    assert 1 <= found <= BIGINT_MAX
    assert str(found) in text
    record("typed-discord-ids", "id")


@given(st.integers(min_value=1, max_value=BIGINT_MAX), st.sampled_from(MENTIONS[:5]))
def test_every_id_the_database_holds_is_read_back_bare_or_as_a_mention(
    number: int, mention: str
) -> None:
    written = f"{mention}{number}>" if mention else f" {number} "
    assert discord_id(written) == number
    assert whole_in(str(number), 1) == number
    record("typed-discord-ids-written", "parsed")


def test_the_edges() -> None:
    assert whole_in(str(BIGINT_MAX)) == BIGINT_MAX
    assert whole_in(str(BIGINT_MAX + 1)) is None
    assert whole_in("0" * 5000 + "12", 1, 25) == 12
    assert whole_in("9" * 5000) is None
    assert whole_in("0") == 0
    assert whole_in("0", low=1) is None
    assert whole_in(None) is None
    assert discord_id("<#0>") is None
    assert discord_id("<@&123>") == 123
    assert discord_id("<@&123") is None
    assert discord_id("<:emoji:123>") is None
