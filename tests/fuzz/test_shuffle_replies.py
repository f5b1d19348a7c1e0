"""Fuzz: what Shuffle's affiliate statistics reply can hold (core/platforms/shuffle/payloads.py):
amounts as JSON numbers of any size (``1e26``, ``1e999999999``, ``Infinity``), as text, as the
wrong type; names with NUL and lone surrogates; deep nesting and arbitrary bytes. And the
affiliate link an admin pastes (``check_affiliate_url``, ``mask_url``), with the same text in it.

Properties: an amount reads as whole cents that a BIGINT column holds, or as None; a reply reads
as a list of rows in such cents, or is refused with :class:`NotStatistics`, never another
exception (which would escape the wager poll). A link is refused with :class:`WagerRefused` or is
one the poll can send to a Shuffle host; masking any text gives text that can be sent to Discord.
"""

from __future__ import annotations

import json

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from core.features.raffle.errors import WagerRefused
from core.features.raffle.wagers.rules import check_affiliate_url
from core.platforms.shuffle.api import SHUFFLE_HOSTS, is_allowed_url, mask_url
from core.platforms.shuffle.payloads import (
    NotStatistics,
    WagerRow,
    parse_amount_cents,
    parse_statistics,
)
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY, json_values, scalars

MAX_CENTS = 10**15
# JSON number tokens as a reply may spell them; Python's reader takes Infinity and NaN too.
NUMBER_TOKENS = [
    "1e26",
    "1E+26",
    "-1e26",
    "1e999999999",
    "1e-999999999",
    "9999999999999.999",
    "10000000000000",
    "0.1",
    "-0",
    "Infinity",
    "-Infinity",
    "NaN",
    "9" * 4000,
    "1" + "0" * 400,
]
numbers = st.one_of(
    st.sampled_from(NUMBER_TOKENS),
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.tuples(st.integers(0, 10**6), st.integers(-(10**9), 10**9)).map(lambda p: f"{p[0]}e{p[1]}"),
)
amounts = st.one_of(numbers, numbers.map(json.dumps), scalars.map(json.dumps))
names = st.one_of(scalars, st.text(max_size=30)).map(json.dumps)


@st.composite
def rows(draw: st.DrawFn) -> str:
    """A row as raw JSON text, so that number tokens reach the parser as spelled."""
    fields = [f'"username":{draw(names)}', f'"wagerAmount":{draw(amounts)}']
    if draw(st.booleans()):
        fields.append(f'"campaignCode":{draw(names)}')
    return "{" + ",".join(draw(st.permutations(fields))) + "}"


bodies = st.one_of(
    st.lists(rows(), max_size=5).map(lambda items: "[" + ",".join(items) + "]"),
    st.lists(rows(), max_size=3).map(lambda items: '{"data":[' + ",".join(items) + "]}"),
    json_values.map(json.dumps),
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
)


@given(st.one_of(scalars, json_values, numbers))
@example(1e308)
@example("1e26")
@example([10**49, "x", "y"])  # Decimal reads a list as a (sign, digits, exponent) tuple
@example([0, [1, 2], 3])  # ... which is 1.2e3 cents' worth of nothing a reply meant
def test_an_amount_is_cents_a_bigint_holds_or_none(value: object) -> None:
    cents = parse_amount_cents(value)
    if cents is None:
        record("shuffle-amounts", "none")
        return
    assert type(cents) is int
    assert 0 <= cents < MAX_CENTS
    record("shuffle-amounts", "cents")


@given(bodies)
@example('[{"username":"a","wagerAmount":1e26}]')
@example('[{"username":"a","wagerAmount":1e9999999999999999999}]')
@example('[{"username":"\\ud800\\u0000","wagerAmount":Infinity}]')
def test_a_reply_is_rows_in_cents_or_not_statistics(body: str | bytes) -> None:
    try:
        parsed = parse_statistics(body)
    except NotStatistics:
        record("shuffle-statistics", "refused")
        return
    for row in parsed:
        assert isinstance(row, WagerRow)
        assert isinstance(row.username, str)
        assert row.username
        assert isinstance(row.campaign_code, str)
        assert type(row.wagered_cents) is int
        assert 0 <= row.wagered_cents < MAX_CENTS
    record("shuffle-statistics", f"{min(len(parsed), 2)} rows")


url_parts = st.one_of(
    st.from_regex(r"[A-Za-z0-9_\-]{0,20}", fullmatch=True),
    st.sampled_from([w for w in NASTY if isinstance(w, str)]),
    st.sampled_from(["\ud800", "\x00", "\x7f", "\u200b", "\u202e", "\xa0", "%00", ":99999", "@"]),
    st.text(max_size=30),
)
urls = st.one_of(
    st.text(max_size=120),
    st.tuples(
        st.sampled_from(["https://", "http://", "ftp://", "", "https://user@", "<https://"]),
        st.sampled_from([*SHUFFLE_HOSTS, "[::1", "127.0.0.1", ""]),
        url_parts,
        st.sampled_from(["/stats/", "/", "?key=", ""]),
        url_parts,
    ).map("".join),
)


@given(urls)
@example("https://shuffle.com/\ud800")
@example("https://affiliate.shuffle.com/stats/\x00")
def test_a_pasted_link_is_a_sendable_shuffle_url_or_refused(url: str) -> None:
    masked = mask_url(url)
    assert isinstance(masked, str)
    masked.encode()  # it goes into Discord messages as it is
    try:
        checked = check_affiliate_url(url)
    except WagerRefused:
        assert isinstance(is_allowed_url(url, SHUFFLE_HOSTS), bool)
        record("shuffle-urls", "refused")
        return
    assert is_allowed_url(checked, SHUFFLE_HOSTS)
    assert len(checked) <= 1000
    checked.encode()
    httpx.URL(checked)  # what the poll sends: must not raise
    record("shuffle-urls", "accepted")
