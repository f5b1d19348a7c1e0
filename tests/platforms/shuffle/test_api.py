"""The Shuffle statistics client against the fake affiliate endpoint on 127.0.0.1, and the
parser of its replies. Backoff waits go to a recording sleep, never the wall clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest

from core.platforms.shuffle.api import (
    SHUFFLE_HOSTS,
    ChallengePage,
    RateLimited,
    ShuffleClient,
    ShuffleRefused,
    ShuffleUnreachable,
    is_allowed_url,
    mask_url,
)
from core.platforms.shuffle.payloads import (
    NotStatistics,
    WagerRow,
    parse_amount_cents,
    parse_statistics,
)
from tests.fakes.shuffle_server import AFFILIATE_KEY, CAMPAIGN_CODE, FakeShuffle
from tests.support.waiting import RecordingSleep


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(sleeps: RecordingSleep) -> AsyncIterator[ShuffleClient]:
    async with ShuffleClient(
        max_retries=2, backoff_base=4.0, sleep=sleeps, jitter=lambda: 0.5
    ) as c:
        yield c


async def test_rows_come_back_in_whole_cents(shuffle: FakeShuffle, client: ShuffleClient) -> None:
    shuffle.set_wagered("Alice", "1234.56")
    shuffle.set_wagered("bob", "0.07", code="OTHER")
    rows = await client.fetch_wagers(shuffle.affiliate_url)
    assert rows == [WagerRow("Alice", CAMPAIGN_CODE, 123456), WagerRow("bob", "OTHER", 7)]


async def test_amounts_sent_as_strings_read_the_same(
    shuffle: FakeShuffle, client: ShuffleClient
) -> None:
    shuffle.amounts_as_strings = True
    shuffle.set_wagered("Alice", "1234.56")
    assert [r.wagered_cents for r in await client.fetch_wagers(shuffle.affiliate_url)] == [123456]


@pytest.mark.parametrize("kind", ["429", "400", "too_many", "too_many_list"])
async def test_each_rate_limit_reply_is_retried_then_the_data_is_read(
    shuffle: FakeShuffle, client: ShuffleClient, sleeps: RecordingSleep, kind: str
) -> None:
    shuffle.set_wagered("Alice", "10")
    shuffle.fail_next(kind, times=2)  # type: ignore[arg-type]
    rows = await client.fetch_wagers(shuffle.affiliate_url)
    assert rows == [WagerRow("Alice", CAMPAIGN_CODE, 1000)]
    assert sleeps.delays == [2.0, 4.0]  # 4 s * 2**n * jitter 0.5
    assert len(shuffle.requests) == 3


@pytest.mark.parametrize("kind", ["429", "400", "too_many", "too_many_list"])
async def test_a_rate_limit_that_outlasts_the_retries_is_raised_not_taken_as_data(
    shuffle: FakeShuffle, client: ShuffleClient, kind: str
) -> None:
    shuffle.set_wagered("Alice", "10")
    shuffle.fail_next(kind, times=3)  # type: ignore[arg-type]
    with pytest.raises(RateLimited):
        await client.fetch_wagers(shuffle.affiliate_url)
    assert len(shuffle.requests) == 3


async def test_retry_after_is_honoured(
    shuffle: FakeShuffle, client: ShuffleClient, sleeps: RecordingSleep
) -> None:
    shuffle.fail_next("429", retry_after=7)
    await client.fetch_wagers(shuffle.affiliate_url)
    assert sleeps.delays == [7.0]


async def test_a_long_retry_after_ends_the_fetch_at_once(
    shuffle: FakeShuffle, client: ShuffleClient, sleeps: RecordingSleep
) -> None:
    shuffle.fail_next("429", retry_after=600)
    with pytest.raises(RateLimited) as raised:
        await client.fetch_wagers(shuffle.affiliate_url)
    assert raised.value.retry_after == 600
    assert sleeps.delays == []


async def test_a_cloudflare_challenge_page_is_retried_and_never_parsed(
    shuffle: FakeShuffle, client: ShuffleClient
) -> None:
    shuffle.fail_next("challenge", times=3)
    with pytest.raises(ChallengePage):
        await client.fetch_wagers(shuffle.affiliate_url)
    shuffle.fail_next("challenge")
    assert await client.fetch_wagers(shuffle.affiliate_url) == []


async def test_a_wrong_key_is_refused_at_once_without_the_url_in_the_message(
    shuffle: FakeShuffle, client: ShuffleClient, sleeps: RecordingSleep
) -> None:
    with pytest.raises(ShuffleRefused) as raised:
        await client.fetch_wagers(f"{shuffle.url}/stats/not-my-key-123")
    assert raised.value.status == 404
    assert "not-my-key" not in str(raised.value)
    assert sleeps.delays == []


async def test_server_errors_are_retried(shuffle: FakeShuffle, client: ShuffleClient) -> None:
    shuffle.fail_next("500", times=3)
    with pytest.raises(ShuffleUnreachable):
        await client.fetch_wagers(shuffle.affiliate_url)
    assert shuffle.statuses() == [500, 500, 500]


async def test_nothing_listening_is_unreachable(client: ShuffleClient) -> None:
    with FakeShuffle() as gone:
        url = gone.affiliate_url
    with pytest.raises(ShuffleUnreachable):
        await client.fetch_wagers(url)


def test_parser_reads_numbers_exactly_and_skips_unreadable_rows() -> None:
    body = (
        b'[{"username":"a","campaignCode":"X","wagerAmount":0.1},'
        b'{"username":"b","campaignCode":"X","wagerAmount":"1,000.009"},'
        b'{"username":"","wagerAmount":5},{"username":"c","wagerAmount":"lots"},'
        b'{"username":"d","wagerAmount":-3},"junk",'
        b'{"userName":"e","campaign_code":"Y","wagered":"$2.50"}]'
    )
    assert parse_statistics(body) == [
        WagerRow("a", "X", 10),
        WagerRow("b", "X", 100000),
        WagerRow("e", "Y", 250),
    ]


def test_parser_accepts_a_list_inside_data() -> None:
    assert parse_statistics('{"data":[{"username":"a","wagerAmount":1}]}') == [
        WagerRow("a", "", 100)
    ]


@pytest.mark.parametrize(
    ("body", "is_rate_limit"),
    [
        ('{"message":"TOO_MANY_REQUEST"}', True),
        ('"TOO_MANY_REQUEST"', True),
        ('[{"error":"TOO_MANY_REQUEST"}]', True),
        ('{"message":"Unauthorized"}', False),
        ("<html>oops</html>", False),
        ('[{"player":"a","usd":"5"}]', False),  # rows, none readable: not "no wagers"
    ],
)
def test_replies_that_are_not_statistics(body: str, is_rate_limit: bool) -> None:
    with pytest.raises(NotStatistics) as raised:
        parse_statistics(body)
    assert raised.value.is_rate_limit is is_rate_limit


@pytest.mark.parametrize("amount", ["1e26", "1e999999999", "100000000000000000000000000", '"1e30"'])
def test_a_row_whose_amount_our_cents_cannot_hold_is_skipped(amount: str) -> None:
    body = f'[{{"username":"a","wagerAmount":{amount}}},{{"username":"b","wagerAmount":2}}]'
    assert parse_statistics(body) == [WagerRow("b", "", 200)]


def test_an_empty_list_is_no_wagers_yet() -> None:
    assert parse_statistics("[]") == []


def test_players_listed_without_an_amount_yet_are_no_wagers_not_a_problem() -> None:
    """Fields the reader knows, no amount in them yet (a new referral): not a changed format."""
    body = '[{"username":"a","campaignCode":"X","wagerAmount":null}]'
    assert parse_statistics(body) == []


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (Decimal("1234.56"), 123456),
        (12, 1200),
        ("0.019", 1),
        (" 7 ", 700),
        (0.1, 10),
        ("NaN", None),
        ("Infinity", None),
        (True, None),
        (None, None),
        ("-1", None),
        (Decimal("1e26"), None),
        ("1e999999999", None),
        ("9999999999999.999", 999999999999999),
        ("10000000000000", None),
        ("1e-999999999", 0),
    ],
)
def test_amounts(value: object, cents: int | None) -> None:
    assert parse_amount_cents(value) == cents


def test_masked_url_hides_the_key() -> None:
    url = f"https://affiliate.shuffle.com/stats/{AFFILIATE_KEY}?apikey=s3cret"
    shown = mask_url(url)
    assert shown.startswith("https://affiliate.shuffle.com/…")
    assert AFFILIATE_KEY not in shown
    assert "s3cret" not in shown
    assert "fake0" not in shown
    assert mask_url(url) != mask_url(url.replace("s3cret", "other"))


@pytest.mark.parametrize(
    "url",
    [
        "https://shuffle.com/\ud800",
        "https://\udfff.shuffle.com/x",
        "https://shuffle.com/a\x00b",
        "https://shuffle.com/\u202e",
    ],
)
def test_a_url_that_cannot_be_sent_is_masked_as_unreadable_and_never_allowed(url: str) -> None:
    assert mask_url(url) == "(an unreadable URL)"
    assert not is_allowed_url(url, SHUFFLE_HOSTS)
