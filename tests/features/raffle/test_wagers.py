"""Wager tickets: polls of the fake Shuffle affiliate endpoint (127.0.0.1) turned into ledger
entries, on SQLite and PostgreSQL. Backoff waits go to a recording sleep; time is a test clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.linking import repository as linking_repository
from core.features.linking.repository import AccountLink
from core.features.raffle import ledger_repository
from core.features.raffle.errors import WagerRefused
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.tables import raffle_ledger, shuffle_settings
from core.features.raffle.wagers import repository as wager_repository
from core.features.raffle.wagers.rules import (
    backoff_seconds,
    check_affiliate_url,
    parse_campaign_codes,
    tickets_for,
    totals_under_codes,
)
from core.features.raffle.wagers.service import NOT_SHUFFLE_URL, WagerService
from core.platforms.shuffle.api import ShuffleClient
from core.platforms.shuffle.payloads import WagerRow
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.shuffle_server import AFFILIATE_KEY, CAMPAIGN_CODE, FakeShuffle
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep

GUILD = 4242
ADMIN = 1
ALICE = 101  # Discord ids
BOB = 102
ALICE_KICK = "9001"
BOB_KICK = "9002"
PERIOD_START = datetime(2030, 3, 1, tzinfo=UTC)
PERIOD_END = datetime(2030, 4, 1, tzinfo=UTC)
INTERVAL = 300


class Harness:
    """A guild with the fake Shuffle configured, an open period, and helpers to poll and read
    the ledger."""

    def __init__(self, engine: Engine, shuffle: FakeShuffle, rate: int = 20) -> None:
        self.engine = engine
        self.shuffle = shuffle
        self.clock = Clock(PERIOD_START + timedelta(hours=1))
        self.sleeps = RecordingSleep()
        self.rate = rate
        self.wagers = WagerService(
            engine,
            TokenCipher(TEST_FERNET_KEY),
            tickets_per_thousand=lambda guild_id: self.rate,
            make_client=lambda: ShuffleClient(sleep=self.sleeps, jitter=lambda: 0.5),
            interval_seconds=INTERVAL,
            clock=self.clock,
            allowed_hosts=(shuffle.host,),
        )
        self.wagers.set_affiliate_url(GUILD, shuffle.affiliate_url)
        self.wagers.set_campaign_codes(GUILD, CAMPAIGN_CODE)
        self.period_id: int | None = None

    def open_period(self, guild_id: int = GUILD) -> int:
        with self.engine.begin() as conn:
            period_id = periods_repository.create_period(
                conn,
                guild_id=guild_id,
                starts_at=PERIOD_START,
                ends_at=PERIOD_END,
                status="open",
                seed="00" * 32,
                commitment="11" * 32,
                now=PERIOD_START,
            )
        assert period_id is not None
        self.period_id = period_id
        return period_id

    def roll_over(self) -> int:
        """Close the open period at its end and open the next, as the raffle's timed work does
        (one transaction); the harness then reads the new period."""
        at = PERIOD_END + timedelta(seconds=30)
        with self.engine.begin() as conn:
            assert self.period_id is not None
            assert periods_repository.close_period(
                conn,
                self.period_id,
                now=at,
                ends_at=PERIOD_END,
                snapshot_hash="ab" * 32,
                snapshot_version=3,
                eligible=[],
            )
            period_id = periods_repository.create_period(
                conn,
                guild_id=GUILD,
                starts_at=PERIOD_END,
                ends_at=PERIOD_END + timedelta(days=30),
                status="open",
                seed="22" * 32,
                commitment="33" * 32,
                now=at,
            )
        assert period_id is not None
        self.period_id = period_id
        return period_id

    def link_kick(
        self, discord_user_id: int, kick_user_id: str, platform: Platform = Platform.KICK
    ) -> None:
        """Link the member's account (Kick's unless told)."""
        link = AccountLink(
            platform, kick_user_id, discord_user_id, f"{platform}{kick_user_id}", self.clock()
        )
        with self.engine.begin() as conn:
            linking_repository.save_link(conn, link, GUILD)

    def verify(self, discord_user_id: int, name: str, *, kick_user_id: str | None = None) -> None:
        self.wagers.request_link(GUILD, discord_user_id, name)
        self.wagers.verify(GUILD, admin_id=ADMIN, discord_user_id=discord_user_id, name=name)
        if kick_user_id is not None:
            self.link_kick(discord_user_id, kick_user_id)

    def poll(self, *, advance: float = INTERVAL):
        self.clock.advance(advance)
        return asyncio.run(self.wagers.poll_guild(GUILD))

    def poll_due(self, *, advance: float = INTERVAL):
        self.clock.advance(advance)
        return asyncio.run(self.wagers.poll_due())

    def balance(self, kick_user_id: str = ALICE_KICK, platform: Platform = Platform.KICK) -> int:
        assert self.period_id is not None
        with self.engine.connect() as conn:
            return ledger_repository.get_balance(
                conn, GUILD, self.period_id, platform, kick_user_id
            )

    def ledger(self):
        assert self.period_id is not None
        with self.engine.connect() as conn:
            return ledger_repository.list_ledger(conn, GUILD, self.period_id)


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def h(engine: Engine, shuffle: FakeShuffle) -> Harness:
    return Harness(engine, shuffle)


@pytest.fixture
def sqlite_h(sqlite_engine: Engine, shuffle: FakeShuffle) -> Harness:
    """The same, on SQLite alone, for tests whose subject is not the database."""
    return Harness(sqlite_engine, shuffle)


# --- the arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "rate", "tickets"),
    [
        (100_000, 20, 20),  # $1,000
        (99_999, 20, 19),
        (5_000, 20, 1),  # $50 is exactly one ticket at 20 per $1,000
        (4_999, 20, 0),
        (0, 20, 0),
        (-500, 20, 0),
        (123_456_789, 20, 24_691),
        (100_000, 0, 0),
        (100_000, 7, 7),
    ],
)
def test_tickets_for(cents: int, rate: int, tickets: int) -> None:
    assert tickets_for(cents, rate) == tickets


def test_backoff_doubles_up_to_an_hour_and_respects_retry_after() -> None:
    assert [backoff_seconds(n, 300, None) for n in (1, 2, 3, 4)] == [600, 1200, 2400, 3600]
    assert backoff_seconds(1, 300, 5000) == 5000


def test_rows_under_other_codes_are_ignored_and_names_fold_case() -> None:
    rows = [
        WagerRow("Alice", "streamer", 100),
        WagerRow("ALICE", "Second", 50),
        WagerRow("bob", "someone-else", 999),
    ]
    totals = totals_under_codes(rows, ("STREAMER", "second"))
    assert list(totals) == ["alice"]
    assert totals["alice"].cents == 150


def test_names_fold_ascii_case_alone_and_rows_naming_no_shuffle_user_are_left_out() -> None:
    """casefold() folds far more than case: the Kelvin sign (U+212A) into "k", "ß" into "ss".
    Shuffle names are ASCII (the shape !linkshuffle takes); a row naming anything else is
    another player's, never one of theirs."""
    rows = [
        WagerRow("Kelly", CAMPAIGN_CODE, 100),
        WagerRow("\u212aelly", CAMPAIGN_CODE, 500),
        WagerRow("STRASSE", CAMPAIGN_CODE, 300),
        WagerRow("stra\u00dfe", CAMPAIGN_CODE, 700),
        WagerRow("two words", CAMPAIGN_CODE, 900),
        WagerRow("x" * 33, CAMPAIGN_CODE, 900),
    ]
    totals = totals_under_codes(rows, (CAMPAIGN_CODE,))
    assert {key: total.cents for key, total in totals.items()} == {"kelly": 100, "strasse": 300}


def test_a_different_unicode_name_is_not_folded_into_a_verified_account(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "kelly", kick_user_id=ALICE_KICK)
    h.wagers.apply_rows(GUILD, [WagerRow("kelly", CAMPAIGN_CODE, 0)], (CAMPAIGN_CODE,), h.clock())
    rows = [
        WagerRow("kelly", CAMPAIGN_CODE, 100_000),  # kelly: $1,000, 20 tickets
        WagerRow("\u212aelly", CAMPAIGN_CODE, 500_000),  # "Kelly" with a Kelvin sign: not hers
    ]
    h.wagers.apply_rows(GUILD, rows, (CAMPAIGN_CODE,), h.clock())
    assert h.balance() == 20, "another player's wagers were paid to the verified kelly"


def test_a_row_repeated_under_one_code_is_one_total_and_codes_still_add_up() -> None:
    """Pages that overlap list a player twice under one code: one lifetime total, counted once
    (the larger, should they differ); the totals under different codes are added."""
    rows = [
        WagerRow("alice", "streamer", 200_000),
        WagerRow("Alice", "STREAMER", 200_000),
        WagerRow("alice", "second", 50),
        WagerRow("ALICE", "second", 70),
    ]
    totals = totals_under_codes(rows, ("streamer", "second"))
    assert {key: total.cents for key, total in totals.items()} == {"alice": 200_070}


def test_a_row_repeated_in_one_reply_is_not_counted_twice(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.wagers.apply_rows(
        GUILD, [WagerRow("alice", CAMPAIGN_CODE, 100_000)], (CAMPAIGN_CODE,), h.clock()
    )
    row = WagerRow("alice", CAMPAIGN_CODE, 200_000)  # $1,000 since the baseline
    h.wagers.apply_rows(GUILD, [row, row], (CAMPAIGN_CODE,), h.clock())
    assert h.balance() == 20, "the repeated row was paid twice"


def test_campaign_codes_are_parsed_leniently_and_checked() -> None:
    assert parse_campaign_codes(" abc, DEF ghi,abc ") == ("abc", "DEF", "ghi")
    for bad in ("", "  ,", "no<markup>", "x" * 33):
        with pytest.raises(WagerRefused, match=r".") as raised:
            parse_campaign_codes(bad)
        assert str(raised.value)


# --- polls -------------------------------------------------------------------------------------


def test_small_increments_over_many_polls_lose_no_cent(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "5000.00")
    assert h.poll().is_baseline
    wagered = Decimal(0)
    for _ in range(40):
        h.shuffle.add_wager("alice", "12.37")
        wagered += Decimal("12.37")
        h.poll()
        # After every poll the balance is exactly what the whole amount since the baseline earns.
        assert h.balance() == int(wagered * 20 // 1000)
    assert wagered == Decimal("494.80")
    assert h.balance() == 9
    h.shuffle.add_wager("alice", "5.20")  # $500.00 since the baseline: exactly 10 tickets
    h.poll()
    assert h.balance() == 10
    entries = h.ledger()
    assert sum(e.amount for e in entries) == 10
    assert {e.source for e in entries} == {"wager"}
    assert entries[-1].source_ref == "shuffle:alice:10"


def test_one_cent_at_a_time_crosses_a_ticket_exactly(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.rate = 1000  # one ticket per dollar
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "10.00")
    h.poll()
    h.shuffle.add_wager("alice", "0.96")
    for expected in (0, 0, 0, 0, 1):  # $0.96, $0.97, $0.98, $0.99, $1.00 since the baseline
        h.poll()
        assert h.balance() == expected
        h.shuffle.add_wager("alice", "0.01")


def test_the_baseline_is_the_total_at_the_periods_first_successful_poll(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "50000")  # lifetime, before the period
    first = h.poll()
    assert first.outcome == "ok"
    assert first.is_baseline
    assert first.awards == ()
    assert h.balance() == 0
    h.shuffle.add_wager("alice", "1000")
    second = h.poll()
    assert not second.is_baseline
    assert [(a.username, a.tickets, a.total_tickets) for a in second.awards] == [("alice", 20, 20)]
    assert h.balance() == 20


def test_a_baseline_set_mid_period_counts_from_that_poll(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "100")
    # Two weeks of rate limits: no poll of this period succeeds.
    h.clock.advance(14 * 86400)
    h.shuffle.fail_next("429", times=3)
    refused = h.poll()
    assert refused.outcome == "rate_limited"
    assert h.wagers.status(GUILD).baseline_at is None
    h.shuffle.add_wager("alice", "2000")  # while nothing could be read
    assert h.poll(advance=refused_wait(refused, h)).is_baseline
    baseline_at = h.clock()
    assert h.wagers.status(GUILD).baseline_at == baseline_at
    assert h.balance() == 0
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert h.balance() == 20


def refused_wait(result, h: Harness) -> float:
    """Seconds from now until the backoff of ``result`` ends."""
    return (result.retry_at - h.clock()).total_seconds()


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("429", "rate_limited"),
        ("400", "rate_limited"),
        ("too_many", "rate_limited"),
        ("too_many_list", "rate_limited"),
        ("challenge", "challenge"),
    ],
)
def test_rate_limits_and_challenges_are_backed_off_and_never_taken_as_data(
    sqlite_h: Harness, kind: str, outcome: str
) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "100")
    h.poll_due()
    h.shuffle.add_wager("alice", "1000")
    h.shuffle.fail_next(kind, times=3)  # type: ignore[arg-type]
    [result] = h.poll_due()
    assert result.outcome == outcome
    assert result.awards == ()
    assert h.shuffle.statuses()[-3:] == [h.shuffle.statuses()[-1]] * 3
    assert h.sleeps.delays == [2.5, 5.0]  # retried within the poll, with backoff
    assert result.retry_at == h.clock() + timedelta(seconds=600)
    status = h.wagers.status(GUILD)
    assert status.next_poll_at == result.retry_at
    assert status.last_problem
    assert h.balance() == 0
    # The next scheduled poll falls inside the backoff: Shuffle is left alone.
    requests = len(h.shuffle.requests)
    assert h.poll_due() == []
    assert len(h.shuffle.requests) == requests
    # Once it ends, the poll reads the real totals and gives everything.
    [retried] = h.poll_due(advance=INTERVAL)
    assert retried.outcome == "ok"
    assert h.balance() == 20
    assert h.wagers.status(GUILD).next_poll_at is None


def test_a_huge_wager_total_does_not_stop_the_guilds_polls(h: Harness) -> None:
    """An amount Shuffle's reader takes (under $10 trillion) whose tickets do not fit a ledger
    row (an INTEGER): the account is left out and shown as the poll's problem; the others get
    their tickets (on PostgreSQL the whole poll failed, every time, and nothing was shown)."""
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.verify(BOB, "bob", kick_user_id=BOB_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.shuffle.set_wagered("bob", "0")
    assert h.poll().is_baseline
    h.shuffle.add_wager("bob", "1000")
    h.shuffle.add_wager("alice", "200000000000")  # $200 billion: 4,000,000,000 tickets

    result = h.poll()

    assert (result.outcome, h.balance(BOB_KICK), h.balance(ALICE_KICK)) == ("ok", 20, 0)
    assert (result.problem or "").startswith("alice: more tickets due at once than the ledger")
    status = h.wagers.status(GUILD)
    assert status.last_problem == result.problem
    assert status.next_poll_at is None  # taken: no backoff
    assert h.poll().awards == ()  # left out again, nothing given
    assert h.balance(ALICE_KICK) == 0


def test_a_reply_that_cannot_be_taken_is_a_problem_and_backed_off(
    sqlite_h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever stops a reply from being taken is shown in !shuffle status and backed off like
    a failed read, rather than only logged by the poll loop and tried again at full speed."""
    h = sqlite_h
    h.open_period()
    h.shuffle.set_wagered("alice", "100")

    def refuse(*_args: object) -> None:
        raise sa.exc.DataError("INSERT ...", {}, Exception("integer out of range"))

    monkeypatch.setattr(wager_repository, "save_totals", refuse)
    result = h.poll()

    assert (result.outcome, result.retry_at) == ("failed", h.clock() + timedelta(seconds=600))
    status = h.wagers.status(GUILD)
    assert status.last_problem == "the reply could not be taken (DataError)"
    assert status.next_poll_at == result.retry_at
    assert h.poll_due() == []  # left alone until the backoff ends


def test_a_rate_limit_on_the_periods_first_poll_sets_no_baseline(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "7000")
    h.shuffle.fail_next("too_many_list", times=3)  # a list, but not data
    assert h.poll().outcome == "rate_limited"
    assert h.wagers.status(GUILD).baseline_at is None
    assert h.poll(advance=3600).is_baseline
    h.shuffle.add_wager("alice", "50")
    h.poll()
    assert h.balance() == 1  # not 7050 dollars' worth


def test_repeated_failures_back_off_longer_and_honour_retry_after(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.shuffle.fail_next("challenge", times=3)
    first = h.poll()
    h.shuffle.fail_next("400", times=3)
    second = h.poll(advance=refused_wait(first, h))
    assert refused_wait(second, h) == 1200
    h.shuffle.fail_next("429", retry_after=5000)  # longer than the client waits: raised at once
    third = h.poll(advance=refused_wait(second, h))
    assert third.outcome == "rate_limited"
    assert refused_wait(third, h) == 5000


def test_a_wrong_url_is_reported_without_the_key(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.wagers.set_affiliate_url(GUILD, f"{h.shuffle.url}/stats/wrong-key-0123456789")
    result = h.poll()
    assert result.outcome == "failed"
    status = h.wagers.status(GUILD)
    assert "404" in (status.last_problem or "")
    assert "wrong-key" not in (status.last_problem or "")
    assert "wrong-key" not in (status.masked_url or "")


def test_a_replayed_poll_awards_once(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    rows = [WagerRow("alice", CAMPAIGN_CODE, 100_000)]
    h.wagers.apply_rows(GUILD, rows, (CAMPAIGN_CODE,), h.clock())
    rows = [WagerRow("alice", CAMPAIGN_CODE, 300_000)]
    first = h.wagers.apply_rows(GUILD, rows, (CAMPAIGN_CODE,), h.clock())
    again = h.wagers.apply_rows(GUILD, rows, (CAMPAIGN_CODE,), h.clock())
    older = [WagerRow("alice", CAMPAIGN_CODE, 200_000)]  # a late, stale reply
    stale = h.wagers.apply_rows(GUILD, older, (CAMPAIGN_CODE,), h.clock())
    assert [a.tickets for a in first.awards] == [40]
    assert again.awards == stale.awards == ()
    assert h.balance() == 40
    assert len(h.ledger()) == 1


def test_concurrent_polls_award_once(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.wagers.apply_rows(GUILD, [WagerRow("alice", CAMPAIGN_CODE, 0)], (CAMPAIGN_CODE,), h.clock())
    barrier = threading.Barrier(8)
    awarded: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def poller(cents: int) -> None:
        try:
            barrier.wait(timeout=10)
            rows = [WagerRow("alice", CAMPAIGN_CODE, cents)]
            result = h.wagers.apply_rows(GUILD, rows, (CAMPAIGN_CODE,), h.clock())
            with lock:
                awarded.extend(a.tickets for a in result.awards)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    # Eight pollers at once, most with the same reply and one with a newer total.
    totals = [250_000] * 7 + [300_000]
    threads = [threading.Thread(target=poller, args=(cents,)) for cents in totals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # Whatever the order: the newest total's tickets, each cumulative count given once
    # (60 at once, or 50 and then 10 more).
    assert sorted(awarded) in ([60], [10, 50])
    refs = [e.source_ref for e in h.ledger()]
    assert refs in (["shuffle:alice:60"], ["shuffle:alice:50", "shuffle:alice:60"])
    assert h.balance() == 60


# --- overlapping polls (two jobs or two processes read Shuffle at nearly the same time) -------

CODES = (CAMPAIGN_CODE,)


def alice_at(cents: int) -> list[WagerRow]:
    return [WagerRow("alice", CAMPAIGN_CODE, cents)]


def test_a_reply_read_before_the_last_one_taken_changes_nothing(h: Harness) -> None:
    """Poll A reads Shuffle first, poll B a minute later; B's transaction commits first. A's
    older total must not replace B's, or the next period would start from it and pay again
    for wagers paid in this one."""
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    t0 = PERIOD_END - timedelta(minutes=30)
    h.wagers.apply_rows(GUILD, alice_at(100_000), CODES, t0)  # the baseline
    a_read, b_read = t0 + timedelta(minutes=5), t0 + timedelta(minutes=6)
    h.wagers.apply_rows(GUILD, alice_at(300_000), CODES, b_read)  # $2,000: 40 tickets
    stale = h.wagers.apply_rows(GUILD, alice_at(200_000), CODES, a_read)
    assert stale.awards == ()
    assert h.balance() == 40
    h.roll_over()
    # Nothing more was wagered: Shuffle still says $3,000 lifetime.
    first = h.wagers.apply_rows(GUILD, alice_at(300_000), CODES, PERIOD_END + timedelta(minutes=5))
    assert first.is_baseline
    assert h.balance() == 0, "the new period paid again for wagers paid in the last one"
    assert stale.outcome == "stale"
    assert h.wagers.status(GUILD).last_success_at == PERIOD_END + timedelta(minutes=5)


def test_a_regular_poll_overlapping_the_closing_poll_does_not_pay_twice(h: Harness) -> None:
    """The regular poll reads Shuffle just before the end and answers slowly; the closing poll
    (the raffle's timed work, another job or process) reads after the end and is taken first,
    then the period closes and the next opens. The late regular reply lands in the new period:
    it is stale, so it neither sets that period's baseline nor records its older total."""
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.wagers.apply_rows(GUILD, alice_at(100_000), CODES, PERIOD_END - timedelta(hours=1))
    regular_read = PERIOD_END - timedelta(seconds=2)  # Shuffle said $2,000 lifetime then
    closing_read = PERIOD_END + timedelta(seconds=30)  # and $3,000 then
    h.wagers.apply_rows(GUILD, alice_at(300_000), CODES, closing_read)
    assert h.balance() == 40  # $2,000 since the baseline, in the ending period
    h.roll_over()
    late = h.wagers.apply_rows(GUILD, alice_at(200_000), CODES, regular_read)
    assert late.awards == ()
    # The next regular poll; nothing more was wagered.
    h.wagers.apply_rows(GUILD, alice_at(300_000), CODES, PERIOD_END + timedelta(minutes=5))
    assert h.balance() == 0, "the new period paid again for $1,000 paid in the last one"
    assert (late.outcome, late.is_baseline) == ("stale", False)
    assert h.wagers.status(GUILD).baseline_at == PERIOD_END + timedelta(minutes=5)


def test_the_next_period_starts_from_the_carried_total_even_when_shuffle_says_less(
    sqlite_h: Harness,
) -> None:
    """The first reply of the next period says less than the total the ending period was paid
    up to (a lagging answer): the period starts from the carried total, not the lower one,
    so the wagers between them are not paid a second time when Shuffle catches up."""
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.wagers.apply_rows(GUILD, alice_at(100_000), CODES, PERIOD_END - timedelta(hours=1))
    h.wagers.apply_rows(GUILD, alice_at(300_000), CODES, PERIOD_END + timedelta(seconds=30))
    assert h.balance() == 40
    h.roll_over()
    lagging = h.wagers.apply_rows(
        GUILD, alice_at(200_000), CODES, PERIOD_END + timedelta(minutes=5)
    )
    assert lagging.is_baseline
    h.wagers.apply_rows(GUILD, alice_at(300_000), CODES, PERIOD_END + timedelta(minutes=10))
    assert h.balance() == 0, "the new period paid again for $1,000 paid in the last one"
    h.wagers.apply_rows(GUILD, alice_at(350_000), CODES, PERIOD_END + timedelta(minutes=15))
    assert h.balance() == 10  # $500 wagered in the new period


def test_a_member_without_a_kick_link_catches_up_when_they_link(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice")  # verified on Shuffle, no Kick account linked
    h.shuffle.set_wagered("alice", "0")
    h.poll()
    h.shuffle.add_wager("alice", "2000")
    assert h.poll().awards == ()
    with h.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raffle_ledger)).scalar() == 0
    h.link_kick(ALICE, ALICE_KICK)
    [award] = h.poll().awards
    assert award.tickets == 40
    assert h.balance() == 40


def test_a_member_linked_only_on_twitch_gets_the_tickets_there(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice")
    h.link_kick(ALICE, "tv-alice", Platform.TWITCH)
    h.shuffle.set_wagered("alice", "0")
    h.poll()
    h.shuffle.add_wager("alice", "2000")
    [award] = h.poll().awards
    assert award.tickets == 40
    assert h.balance("tv-alice", Platform.TWITCH) == 40
    h.link_kick(ALICE, ALICE_KICK)  # then Kick too: later tickets go to Kick, none twice
    h.shuffle.add_wager("alice", "1000")
    [award] = h.poll().awards
    assert award.tickets == 20
    assert (h.balance(), h.balance("tv-alice", Platform.TWITCH)) == (20, 40)


def test_wagers_before_verification_count_once_verified(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.shuffle.set_wagered("Alice", "10")
    h.poll()
    h.shuffle.add_wager("Alice", "1000")
    h.poll()
    h.verify(ALICE, "aLiCe", kick_user_id=ALICE_KICK)  # names compare without case
    h.poll()
    assert h.balance() == 20


def test_unknown_codes_and_other_players_earn_nothing(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.verify(BOB, "bob", kick_user_id=BOB_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.shuffle.set_wagered("bob", "0", code="ANOTHER-STREAMER")
    h.poll()
    h.shuffle.add_wager("alice", "1000")
    h.shuffle.add_wager("bob", "1000", code="ANOTHER-STREAMER")
    h.poll()
    assert (h.balance(ALICE_KICK), h.balance(BOB_KICK)) == (20, 0)


def test_a_new_referral_counts_from_zero_and_a_missing_account_from_its_last_total(
    sqlite_h: Harness,
) -> None:
    h = sqlite_h
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.verify(BOB, "bob", kick_user_id=BOB_KICK)
    h.shuffle.set_wagered("alice", "9000")
    h.poll()  # no period yet: the totals are remembered all the same
    h.open_period()
    h.shuffle.set_wagered("alice", "0", code="GONE")  # alice left out of this reply
    assert h.poll().is_baseline
    h.shuffle.set_wagered("alice", "10000")  # back: $1,000 more than last seen
    h.shuffle.set_wagered("bob", "500")  # a player who signed up during the period
    h.poll()
    assert (h.balance(ALICE_KICK), h.balance(BOB_KICK)) == (20, 10)


def test_without_an_open_period_nothing_is_given(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "1000")
    result = h.poll()
    assert (result.outcome, result.accounts, result.awards) == ("no_period", 1, ())
    h.open_period()
    assert h.poll().is_baseline
    assert h.balance() == 0


def test_the_rate_comes_from_the_guilds_raffle_settings(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.wagers.tickets_per_thousand = None  # the default: the guild's raffle setting
    assert h.wagers.status(GUILD).tickets_per_thousand == 20
    with h.engine.begin() as conn:
        periods_repository.update_settings(conn, GUILD, wager_thousand_tickets=50)
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.poll()
    h.shuffle.add_wager("alice", "100")
    h.poll()
    assert h.balance() == 5
    assert h.wagers.status(GUILD).tickets_per_thousand == 50


def test_guilds_are_apart(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    other = 777
    h.wagers.set_affiliate_url(other, h.shuffle.affiliate_url)
    h.wagers.set_campaign_codes(other, "NOT-USED")
    h.shuffle.set_wagered("alice", "0")
    h.poll_due()
    h.shuffle.add_wager("alice", "1000")
    results = h.poll_due()
    assert sorted((r.guild_id, r.outcome) for r in results) == [(other, "no_period"), (GUILD, "ok")]
    assert h.balance() == 20
    assert h.wagers.link_of(other, ALICE) is None


def test_an_unconfigured_guild_is_not_polled(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.wagers.set_campaign_codes(GUILD, None)
    assert asyncio.run(h.wagers.poll_due()) == []
    assert asyncio.run(h.wagers.poll_guild(GUILD)).outcome == "not_configured"
    assert h.shuffle.requests == []


# --- settings ----------------------------------------------------------------------------------


def test_the_affiliate_url_is_stored_encrypted_and_shown_masked(sqlite_h: Harness) -> None:
    h = sqlite_h
    with h.engine.connect() as conn:
        stored = conn.execute(sa.select(shuffle_settings.c.affiliate_url)).scalar_one()
    assert AFFILIATE_KEY not in stored
    status = h.wagers.status(GUILD)
    assert status.masked_url is not None
    assert AFFILIATE_KEY not in status.masked_url
    assert status.masked_url.startswith("http://127.0.0.1:")
    assert status.campaign_codes == (CAMPAIGN_CODE,)
    assert status.is_ready
    assert h.wagers.set_affiliate_url(GUILD, None) is None
    assert not h.wagers.status(GUILD).is_ready


@pytest.mark.parametrize("url", ["", "affiliate.shuffle.com/stats/x", "ftp://x/y", "https://"])
def test_a_url_that_is_not_a_link_is_refused(sqlite_h: Harness, url: str) -> None:
    with pytest.raises(WagerRefused, match="link"):
        sqlite_h.wagers.set_affiliate_url(GUILD, url)


# --- account claims ----------------------------------------------------------------------------


def test_a_claim_is_verified_only_as_asked(sqlite_h: Harness) -> None:
    w = sqlite_h.wagers
    with pytest.raises(WagerRefused, match="not asked"):
        w.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="alice")
    w.request_link(GUILD, ALICE, "Alice_99")
    with pytest.raises(WagerRefused, match="asked for Alice_99"):
        w.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="bob")
    verified = w.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="alice_99")
    assert (verified.link.username, verified.role_id, verified.replaced) == ("Alice_99", None, None)
    with pytest.raises(WagerRefused, match="already verified as Alice_99"):
        w.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="ALICE_99")
    with pytest.raises(WagerRefused, match="already verified as Alice_99"):
        w.request_link(GUILD, ALICE, "alice_99")
    with pytest.raises(WagerRefused, match="another member"):
        w.request_link(GUILD, BOB, "alice_99")
    assert w.status(GUILD).pending_requests == 0


def test_an_account_verified_for_one_member_cannot_go_to_another(sqlite_h: Harness) -> None:
    w = sqlite_h.wagers
    w.request_link(GUILD, BOB, "shared")  # bob asks first, alice too
    w.request_link(GUILD, ALICE, "shared")
    w.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="shared")
    with pytest.raises(WagerRefused, match="unlinkshuffle"):
        w.verify(GUILD, admin_id=ADMIN, discord_user_id=BOB, name="shared")
    assert w.unlink(GUILD, ALICE) is not None
    w.verify(GUILD, admin_id=ADMIN, discord_user_id=BOB, name="shared")
    assert w.link_of(GUILD, BOB) is not None


def test_a_member_may_switch_accounts_with_an_admins_say(sqlite_h: Harness) -> None:
    w = sqlite_h.wagers
    w.set_verified_role(GUILD, 555)
    sqlite_h.verify(ALICE, "first")
    w.request_link(GUILD, ALICE, "second")
    verified = w.verify(GUILD, admin_id=ADMIN, discord_user_id=ALICE, name="second")
    assert (verified.link.username, verified.replaced, verified.role_id) == ("second", "first", 555)


@pytest.mark.parametrize("name", ["", "a", "x" * 33, "two words", "<@123>", "**bold**"])
def test_names_that_cannot_be_shuffle_accounts_are_refused(sqlite_h: Harness, name: str) -> None:
    with pytest.raises(WagerRefused, match="not a Shuffle username"):
        sqlite_h.wagers.request_link(GUILD, ALICE, name)


def test_a_replaced_shuffle_account_does_not_earn_twice(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.poll()
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    h.wagers.unlink(GUILD, ALICE)
    h.verify(ALICE, "alice")
    h.poll()
    assert h.balance() == 20


def test_a_link_stored_under_another_key_is_reported_not_polled(sqlite_h: Harness) -> None:
    h = sqlite_h
    other_key = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI="  # base64 of 32 bytes
    h.wagers.cipher = TokenCipher(other_key)  # TOKEN_ENCRYPTION_KEY changed since it was stored
    result = h.poll()
    assert result.outcome == "failed"
    assert h.shuffle.requests == []
    status = h.wagers.status(GUILD)
    assert "cannot be decrypted" in (status.masked_url or "")
    assert "cannot be decrypted" in (status.last_problem or "")


# --- only Shuffle's hosts are ever fetched ----------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        "http://127.0.0.1:{other_port}/stats/k",  # another port on the same loopback host
        "http://localhost:{port}/stats/k",  # another name for it
        "http://127.0.0.2:{port}/stats/k",
        "http://user@127.0.0.1:{port}/stats/k",
        "https://affiliate.shuffle.com/stats/k",  # a real Shuffle host, but not on the list here
    ],
)
def test_a_link_to_a_host_not_on_the_list_is_refused_when_saved(
    sqlite_h: Harness, where: str
) -> None:
    port = int(sqlite_h.shuffle.host.rsplit(":", 1)[1])
    url = where.format(port=port, other_port=port + 1)

    with pytest.raises(WagerRefused, match="not a Shuffle statistics link"):
        sqlite_h.wagers.set_affiliate_url(GUILD, url)


def test_the_default_list_is_shuffles_hosts(sqlite_h: Harness) -> None:
    assert check_affiliate_url("https://affiliate.shuffle.com/stats/k") == (
        "https://affiliate.shuffle.com/stats/k"
    )
    for url in ("https://affiliate.shuffle.com.evil.test/x", "https://affiliate.shuffle.com:22/"):
        with pytest.raises(WagerRefused, match="not a Shuffle statistics link"):
            check_affiliate_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://affiliate.shuffle.com/stats/\ud800",
        "https://affiliate.shuffle.com/stats/k\x00",
        "https://affiliate.shuffle.com/stats/k\x7f",
        "https://affiliate.shuffle.com/\u200bstats/k",
    ],
)
def test_a_link_with_text_that_cannot_be_sent_is_not_a_link(url: str) -> None:
    with pytest.raises(WagerRefused, match="not a link"):
        check_affiliate_url(url)


async def test_a_stored_link_to_another_host_is_never_fetched_nor_echoed(
    sqlite_h: Harness,
) -> None:
    """A row saved before the check points at a server that answers: the poll never asks it,
    and the status tells nothing of what it would have said."""
    with FakeShuffle() as other:
        other.set_wagered("AnaBets", "5000")
        with sqlite_h.engine.begin() as conn:
            conn.execute(
                sa.update(shuffle_settings).values(
                    affiliate_url=sqlite_h.wagers.cipher.encrypt(other.affiliate_url)
                )
            )

        result = await sqlite_h.wagers.poll_guild(GUILD)

        assert other.requests == []
    assert result.outcome == "failed"
    assert result.problem == NOT_SHUFFLE_URL
    status = sqlite_h.wagers.status(GUILD)
    assert status.last_problem == NOT_SHUFFLE_URL


def test_players_under_a_code_added_mid_period_count_from_the_next_poll(h: Harness) -> None:
    h.open_period()
    h.verify(ALICE, "alice", kick_user_id=ALICE_KICK)
    h.verify(BOB, "bob", kick_user_id=BOB_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.shuffle.set_wagered("bob", "50000", code="SECOND")  # a referral of years, another code
    assert h.poll().is_baseline
    h.wagers.set_campaign_codes(GUILD, f"{CAMPAIGN_CODE} SECOND")  # added mid-period
    h.poll()
    assert h.balance(BOB_KICK) == 0, "bob's lifetime wagers were paid in this period"
    h.shuffle.add_wager("bob", "1000")
    h.shuffle.add_wager("alice", "1000")
    h.poll()
    assert (h.balance(ALICE_KICK), h.balance(BOB_KICK)) == (20, 20)


def test_a_reply_read_before_a_code_was_added_takes_no_baseline(sqlite_h: Harness) -> None:
    h = sqlite_h
    h.open_period()
    h.verify(BOB, "bob", kick_user_id=BOB_KICK)
    h.shuffle.set_wagered("alice", "0")
    h.shuffle.set_wagered("bob", "50000", code="SECOND")
    h.poll()
    read_at = h.clock.now
    h.wagers.set_campaign_codes(GUILD, f"{CAMPAIGN_CODE} SECOND")
    # A poll that read Shuffle under the old codes lands after the change.
    assert h.wagers.apply_rows(GUILD, alice_at(0), CODES, read_at).outcome == "stale"
    h.poll()
    assert h.balance(BOB_KICK) == 0
