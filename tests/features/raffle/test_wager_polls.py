"""Shuffle polls in lanes (issue 26): a guild whose Shuffle hangs holds only its own poll, and a
period's close gives up a poll that does not answer in time, against two fake Shuffles on
127.0.0.1 (one per guild's affiliate link)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Platform
from core.features.linking.repository import AccountLink, save_link
from core.features.raffle import ledger_repository
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.wagers.polls import in_lanes
from core.features.raffle.wagers.service import WagerService
from core.platforms.shuffle.api import ShuffleClient
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.shuffle_server import FakeShuffle, connect_guild, verify_player
from tests.support.clock import Clock
from tests.support.waiting import eventually, no_sleep

START, END = datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 4, 1, tzinfo=UTC)
SLOW, FINE = 1001, 1002  # guilds: SLOW's Shuffle hangs
MEMBER, KICK_ID = 55, "7007"


async def test_polls_run_a_few_at_a_time_and_a_late_or_failing_one_is_left_out():
    release = asyncio.Event()
    running = most = 0

    async def poll(guild_id: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            if guild_id == 1:
                await release.wait()  # never answers
            if guild_id == 3:
                raise RuntimeError("the poll broke")
            await asyncio.sleep(0)
            return guild_id * 10
        finally:
            running -= 1

    results = await in_lanes([1, 2, 3, 4, 5], poll, "a test poll", within=1.0, lanes=2)
    assert results == [20, 40, 50]  # in the guilds' order; 1 given up, 3 failed
    assert most == 2
    assert running == 0  # the late one was cancelled, not left running
    assert await in_lanes([], poll, "nothing to poll") == []


async def test_polls_cut_off_with_their_caller_stop_too():
    """A job the scheduler cancels (a stop, or its lease passed to another process) takes its
    polls with it: none goes on to give tickets after its job ended."""
    started, stopped = asyncio.Event(), asyncio.Event()

    async def poll(guild_id: int) -> int:
        started.set()
        try:
            await asyncio.Event().wait()  # a Shuffle that never answers
        finally:
            stopped.set()
        return guild_id

    job = asyncio.create_task(in_lanes([1], poll, "a test poll"))
    await started.wait()
    job.cancel()
    await asyncio.gather(job, return_exceptions=True)
    assert job.cancelled()
    assert stopped.is_set()


@pytest.fixture
def fakes() -> Iterator[dict[int, FakeShuffle]]:
    with FakeShuffle() as slow, FakeShuffle() as fine:
        yield {SLOW: slow, FINE: fine}


@pytest.fixture
def wagers(engine, fakes) -> WagerService:
    clock = Clock(START + timedelta(hours=1))
    service = WagerService(
        engine,
        TokenCipher(TEST_FERNET_KEY),
        tickets_per_thousand=lambda guild_id: 20,
        make_client=lambda: ShuffleClient(sleep=no_sleep),
        clock=clock,
        allowed_hosts=tuple(fake.host for fake in fakes.values()),
        # The close waits this long for the hung guild, and the fine guild's poll (a read, a
        # request to its fake Shuffle's thread, a transaction, on PostgreSQL too) must end
        # within it: 1 s was tight on a loaded machine.
        end_poll_seconds=3.0,
    )
    for guild_id, fake in fakes.items():
        connect_guild(service, guild_id, fake)
        verify_player(service, guild_id, MEMBER, "HighRoller")
        fake.set_wagered("HighRoller", "0")
        with engine.begin() as conn:
            periods_repository.create_period(
                conn, guild_id=guild_id, starts_at=START, ends_at=END, status="open",
                seed="00" * 32, commitment="11" * 32, now=START,
            )  # fmt: skip
            link = AccountLink(Platform.KICK, KICK_ID, MEMBER, "roller", START)
            save_link(conn, link, guild_id)
    return service


def tickets(engine, guild_id: int) -> int:
    with engine.connect() as conn:
        period = periods_repository.find_open_period(conn, guild_id)
        assert period is not None
        return ledger_repository.get_balance(conn, guild_id, period.id, Platform.KICK, KICK_ID)


async def test_a_hanging_shuffle_holds_only_its_own_guilds_poll(engine, wagers, fakes):
    assert [r.guild_id for r in await wagers.poll_due()] == [SLOW, FINE]  # the baselines
    for fake in fakes.values():
        fake.add_wager("HighRoller", "1000")
    held = fakes[SLOW].hang_next()
    wagers.clock.advance(timedelta(minutes=10))
    polling = asyncio.create_task(wagers.poll_due())
    try:
        await eventually(lambda: tickets(engine, FINE) == 20, within=10.0)
        assert not polling.done()  # the slow guild's poll is still waiting on its Shuffle
        assert tickets(engine, SLOW) == 0
    finally:
        held.set()
    results = await polling
    assert [(r.guild_id, r.outcome) for r in results] == [(SLOW, "ok"), (FINE, "ok")]
    assert tickets(engine, SLOW) == 20


async def test_a_period_close_gives_up_a_last_poll_that_does_not_answer(engine, wagers, fakes):
    await wagers.poll_due()  # the baselines
    for fake in fakes.values():
        fake.add_wager("HighRoller", "500")
    wagers.clock.now = END + timedelta(seconds=30)  # both periods ended, not polled since
    held = fakes[SLOW].hang_next()
    try:
        results = await wagers.poll_ending()
    finally:
        held.set()
    assert [(r.guild_id, r.outcome) for r in results] == [(FINE, "ok")]
    assert tickets(engine, FINE) == 10  # counted in the period that ended
    assert tickets(engine, SLOW) == 0  # given up: its wagers count in the next period
