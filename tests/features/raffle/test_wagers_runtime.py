"""Wager polls through a whole Runtime: its WagerService, its scheduler job and its settings,
against the fake Shuffle on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.config import SettingsError, load_settings
from core.events import Platform
from core.features.linking.repository import AccountLink, save_link
from core.features.raffle import ledger_repository
from core.features.raffle.periods import repository as periods_repository
from core.runtime import Runtime
from tests.fakes.shuffle_server import FakeShuffle, connect_guild, verify_player

GUILD = 31337
MEMBER = 5005
KICK_ID = "70007"


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


def open_period(runtime: Runtime) -> int:
    now = datetime.now(UTC)
    with runtime.engine.begin() as conn:
        period_id = periods_repository.create_period(
            conn,
            guild_id=GUILD,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
            status="open",
            seed="00" * 32,
            commitment="11" * 32,
            now=now,
        )
        save_link(conn, AccountLink(Platform.KICK, KICK_ID, MEMBER, "viewer", now), GUILD)
    assert period_id is not None
    return period_id


def balance(runtime: Runtime, period_id: int) -> int:
    with runtime.engine.connect() as conn:
        return ledger_repository.get_balance(conn, GUILD, period_id, Platform.KICK, KICK_ID)


def test_the_runtime_polls_wagers_into_tickets(make_runtime, shuffle: FakeShuffle) -> None:
    runtime = make_runtime(SHUFFLE_POLL_INTERVAL_SECONDS="120", SHUFFLE_ALLOWED_HOSTS=shuffle.host)
    assert runtime.wagers.interval_seconds == 120
    period_id = open_period(runtime)
    connect_guild(runtime.wagers, GUILD, shuffle)
    verify_player(runtime.wagers, GUILD, MEMBER, "HighRoller")
    shuffle.set_wagered("highroller", "12000.50")
    [first] = asyncio.run(runtime.wagers.poll_due())
    assert first.is_baseline
    shuffle.add_wager("highroller", "2500")
    [second] = asyncio.run(runtime.wagers.poll_due())
    assert [a.tickets for a in second.awards] == [50]
    assert balance(runtime, period_id) == 50


def test_the_scheduler_job_polls_then_stops(make_runtime, shuffle: FakeShuffle) -> None:
    runtime = make_runtime(SHUFFLE_ALLOWED_HOSTS=shuffle.host)
    connect_guild(runtime.wagers, GUILD, shuffle)

    stop = asyncio.Event()
    poll_due = runtime.wagers.poll_due

    async def poll_then_stop(now: datetime | None = None):
        results = await poll_due(now)
        stop.set()  # as a shutdown would, right after the first round
        return results

    runtime.wagers.poll_due = poll_then_stop

    async def run_once() -> None:
        await asyncio.wait_for(runtime.scheduler.loops["Shuffle wager polls"](stop), timeout=10)

    asyncio.run(run_once())
    assert shuffle.statuses() == [200]


def test_a_poll_interval_under_a_minute_is_refused() -> None:

    with pytest.raises(SettingsError, match="SHUFFLE_POLL_INTERVAL_SECONDS"):
        load_settings({"SHUFFLE_POLL_INTERVAL_SECONDS": "5"}, env_file=None)


def test_the_allowed_hosts_come_from_the_settings(make_runtime) -> None:
    assert make_runtime().wagers.allowed_hosts == ("affiliate.shuffle.com", "shuffle.com")
    runtime = make_runtime(SHUFFLE_ALLOWED_HOSTS="127.0.0.1:8123, Example.test")
    assert runtime.wagers.allowed_hosts == ("127.0.0.1:8123", "example.test")
    with pytest.raises(SettingsError, match="SHUFFLE_ALLOWED_HOSTS"):
        load_settings({"SHUFFLE_ALLOWED_HOSTS": "https://evil.test/x"}, env_file=None)


# --- wagers across a period's end ------------------------------------------------------------

BOUNDARY = datetime(2026, 6, 1, tzinfo=UTC)


def create_period(runtime: Runtime, starts_at: datetime, ends_at: datetime) -> int:
    with runtime.engine.begin() as conn:
        period_id = periods_repository.create_period(
            conn,
            guild_id=GUILD,
            starts_at=starts_at,
            ends_at=ends_at,
            status="open",
            seed="00" * 32,
            commitment="11" * 32,
            now=starts_at,
        )
    assert period_id is not None
    return period_id


def run_up_to_the_next_period(
    runtime: Runtime, shuffle: FakeShuffle, *, ending_poll_fails: bool
) -> tuple[int, int]:
    """$1,000 wagered in period N between two polls, $500 after its last poll but before its
    end, $250 after the end: the two periods' ticket balances."""
    old = create_period(runtime, BOUNDARY - timedelta(days=31), BOUNDARY)
    with runtime.engine.begin() as conn:
        save_link(conn, AccountLink(Platform.KICK, KICK_ID, MEMBER, "viewer", BOUNDARY), GUILD)
    connect_guild(runtime.wagers, GUILD, shuffle)
    verify_player(runtime.wagers, GUILD, MEMBER, "HighRoller")
    shuffle.set_wagered("highroller", "5000")
    asyncio.run(runtime.wagers.poll_due(BOUNDARY - timedelta(minutes=10)))  # the baseline
    shuffle.add_wager("highroller", "1000")
    asyncio.run(runtime.wagers.poll_due(BOUNDARY - timedelta(minutes=5)))  # the last regular poll
    shuffle.add_wager("highroller", "500")  # wagered before the end, after the last poll
    if ending_poll_fails:
        shuffle.fail_next("challenge", times=3)  # the client tries three times
    asyncio.run(runtime.raffle.run_timed_work(BOUNDARY + timedelta(seconds=30)))  # closes period N
    with runtime.engine.connect() as conn:
        assert periods_repository.find_period(conn, GUILD, old).status == "closed"
    shuffle.add_wager("highroller", "250")  # wagered in period N+1
    new = create_period(runtime, BOUNDARY, BOUNDARY + timedelta(days=30))
    asyncio.run(runtime.wagers.poll_due(BOUNDARY + timedelta(minutes=20)))  # N+1's first poll
    return balance(runtime, old), balance(runtime, new)


def test_wagers_up_to_a_periods_end_count_in_it_and_after_it_in_the_next(
    make_runtime, shuffle: FakeShuffle
) -> None:
    runtime = make_runtime(
        RAFFLE_BEACON_URL="http://127.0.0.1:9", SHUFFLE_ALLOWED_HOSTS=shuffle.host
    )

    old, new = run_up_to_the_next_period(runtime, shuffle, ending_poll_fails=False)

    assert (old, new) == (30, 5)  # $1,500 in N, $250 in N+1, at 20 tickets per $1,000


def test_when_the_poll_at_the_end_fails_the_next_period_carries_what_fell_between(
    make_runtime, shuffle: FakeShuffle
) -> None:
    runtime = make_runtime(
        RAFFLE_BEACON_URL="http://127.0.0.1:9", SHUFFLE_ALLOWED_HOSTS=shuffle.host
    )

    old, new = run_up_to_the_next_period(runtime, shuffle, ending_poll_fails=True)

    # The $500 cannot count in N (closed and hashed); it counts in N+1, not nowhere.
    assert (old, new) == (20, 15)
