"""The sliding windows on both backends: this process's memory and a real Redis shared by two
"processes" (two window objects with clients of their own).

What is asserted is the limit itself (no ``seconds`` long stretch holds more than ``requests``
sends, counted where each request was inside its slot) and the waits the windows make; a slow
machine only spreads the sends further apart, so no bound here depends on its speed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.ratelimits import Limit, MemoryWindows, RedisWindows, Windows, windows_for
from core.ratelimits.redis_windows import PREFIX
from tests import services
from tests.support.clock import Ticker

LOGGER = "core.ratelimits.redis_windows"


class FakeTime(Ticker):
    """A monotonic clock that moves only when a window sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        super().__init__(1000.0)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


def unique_key() -> str:
    """A window of this test's own on the worker's shared Redis."""
    return f"test:{uuid.uuid4().hex}"


def most_in_any_stretch(times: list[float], seconds: float) -> int:
    """The largest number of ``times`` within any ``seconds`` long stretch."""
    ordered = sorted(times)
    return max(
        (
            sum(1 for later in ordered[i:] if later - start < seconds)
            for i, start in enumerate(ordered)
        ),
        default=0,
    )


async def burst(
    windows: Windows, key: str, limit: Limit, count: int, now: Callable[[], float], hold: float = 0
) -> list[float]:
    """``count`` tasks each send once through ``windows``; when each was inside its slot."""
    sent: list[float] = []

    async def send() -> None:
        async with windows.slot(key, limit):
            sent.append(now())
            await asyncio.sleep(hold)

    await asyncio.gather(*(send() for _ in range(count)))
    return sent


async def sequential(
    windows: Windows, key: str, limit: Limit, count: int, now: Callable[[], float]
) -> list[float]:
    sent: list[float] = []
    for _ in range(count):
        async with windows.slot(key, limit):
            sent.append(now())
    return sent


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def shared_redis(redis_url: str) -> Iterator[Callable[[], redis.Redis]]:
    """Clients of the test's Redis, one per "process"; the rate keys are removed after."""
    clients: list[redis.Redis] = []

    def client() -> redis.Redis:
        made = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        clients.append(made)
        return made

    yield client
    if clients:
        for key in clients[0].scan_iter(match=PREFIX + "test:*"):
            clients[0].delete(key)
    for made in clients:
        made.close()


# --- in memory ---------------------------------------------------------------------------------


async def test_memory_waits_until_the_oldest_slot_leaves_the_window(fake_time: FakeTime) -> None:
    windows = MemoryWindows(fake_time, fake_time.sleep)
    limit = Limit(3, 10.0)

    sent = await sequential(windows, "k", limit, 7, fake_time)

    assert sent == [1000.0, 1000.0, 1000.0, 1010.0, 1010.0, 1010.0, 1020.0]
    assert fake_time.sleeps == [10.0, 10.0]


async def test_memory_restamps_a_slot_when_its_answer_lands(fake_time: FakeTime) -> None:
    """Sent at 1000, answered at 1008: it counts until 1018, not 1010."""
    windows = MemoryWindows(fake_time, fake_time.sleep)
    limit = Limit(2, 10.0)

    async with windows.slot("k", limit):
        fake_time.advance(8)  # a slow answer
    async with windows.slot("k", limit):
        pass
    async with windows.slot("k", limit):
        third = fake_time()

    assert third == 1018.0
    assert fake_time.sleeps == [10.0]


async def test_memory_keys_are_separate(fake_time: FakeTime) -> None:
    windows = MemoryWindows(fake_time, fake_time.sleep)
    limit = Limit(1, 10.0)

    for key in ("twitch:vip:add:1", "twitch:vip:remove:1", "twitch:vip:add:2"):
        async with windows.slot(key, limit):
            pass

    assert fake_time.sleeps == []


async def test_memory_a_failed_request_keeps_its_slot(fake_time: FakeTime) -> None:
    windows = MemoryWindows(fake_time, fake_time.sleep)
    limit = Limit(1, 10.0)

    with pytest.raises(RuntimeError):
        async with windows.slot("k", limit):
            raise RuntimeError("no answer")
    async with windows.slot("k", limit):
        pass

    assert fake_time.sleeps == [10.0]


async def test_memory_keeps_the_limit_under_concurrent_tasks() -> None:
    windows = MemoryWindows()
    limit = Limit(3, 0.3)

    sent = await burst(windows, "k", limit, 10, time.monotonic, hold=0.01)

    assert len(sent) == 10
    assert most_in_any_stretch(sent, limit.seconds) <= limit.requests


async def test_memory_tasks_of_one_process_take_their_turns_in_order(fake_time: FakeTime) -> None:
    windows = MemoryWindows(fake_time, fake_time.sleep)
    limit = Limit(2, 10.0)
    order: list[int] = []

    async def send(number: int) -> None:
        async with windows.slot("k", limit):
            order.append(number)

    await asyncio.gather(*(send(number) for number in range(6)))

    assert order == list(range(6))


# --- in Redis ----------------------------------------------------------------------------------


async def test_memory_try_take_never_waits_and_a_slot_given_back_counts_no_more(
    fake_time: FakeTime,
) -> None:
    windows = MemoryWindows(clock=fake_time, sleep=fake_time.sleep)
    cooldown = Limit(1, 30)
    first = await windows.try_take("cooldown", cooldown)
    assert first is not None
    assert await windows.try_take("cooldown", cooldown) is None
    assert fake_time.sleeps == []
    await windows.give_back(first)
    assert await windows.try_take("cooldown", cooldown) is not None
    fake_time.advance(29.9)
    assert await windows.try_take("cooldown", cooldown) is None
    fake_time.advance(0.1)
    assert await windows.try_take("cooldown", cooldown) is not None


async def test_redis_try_take_and_give_back_hold_across_processes(
    shared_redis: Callable[[], redis.Redis],
) -> None:
    first, second = RedisWindows(shared_redis()), RedisWindows(shared_redis())
    key, cooldown = unique_key(), Limit(1, 60)
    taken = await first.try_take(key, cooldown)
    assert taken is not None
    assert taken.is_shared
    assert await second.try_take(key, cooldown) is None  # another process sees it
    await first.give_back(taken)
    assert await second.try_take(key, cooldown) is not None
    assert await first.try_take(key, cooldown) is None


async def test_redis_two_processes_share_one_window(
    shared_redis: Callable[[], redis.Redis],
) -> None:
    first, second = RedisWindows(shared_redis()), RedisWindows(shared_redis())
    key = unique_key()
    limit = Limit(4, 0.5)

    sent = await asyncio.gather(
        burst(first, key, limit, 8, time.time, hold=0.01),
        burst(second, key, limit, 8, time.time, hold=0.01),
    )

    everything = sent[0] + sent[1]
    assert len(everything) == 16
    # Redis stamps with its own clock (TIME, the wall clock of this machine), to the ms.
    assert most_in_any_stretch(everything, limit.seconds - 0.002) <= limit.requests


async def test_redis_restamps_a_slot_when_its_answer_lands(
    shared_redis: Callable[[], redis.Redis],
) -> None:
    windows = RedisWindows(shared_redis())
    limit = Limit(1, 0.5)
    key = unique_key()

    async with windows.slot(key, limit):
        await asyncio.sleep(0.3)  # a slow answer
        landed = time.time()  # the slot is restamped after this, however busy the machine
    async with windows.slot(key, limit):
        again = time.time()

    # Counted from the answer, not the send (Redis stamps to the ms).
    assert again - landed >= limit.seconds - 0.002


async def test_redis_keeps_slots_in_a_sorted_set_that_expires(
    shared_redis: Callable[[], redis.Redis],
) -> None:
    client = shared_redis()
    windows = RedisWindows(client)

    key = unique_key()

    async with windows.slot(key, Limit(10, 10.0)):
        pass

    assert client.zcard(PREFIX + key) == 1
    assert 10_000 < client.pttl(PREFIX + key) <= 11_000


async def test_redis_unreachable_falls_back_to_memory_paced_and_logs_once(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    port = services.free_port()  # nothing listens there
    # No retries of its own (redis-py's default spends ~3 s on a refused connection).
    client = redis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    windows = RedisWindows(
        client,
        memory=MemoryWindows(fake_time, fake_time.sleep),
        clock=fake_time,
        sleep=fake_time.sleep,
    )
    limit = Limit(2, 10.0)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        sent = await sequential(windows, "k", limit, 5, fake_time)

    assert sent == [1000.0, 1000.0, 1010.0, 1010.0, 1020.0]
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "pacing in this process only" in warnings[0].getMessage()


async def test_redis_going_away_mid_burst_keeps_pacing_from_what_was_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Slots taken in Redis are remembered in memory too, so the outage starts full."""
    limit = Limit(2, 0.6)
    with services.redis_server() as url:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        windows = RedisWindows(client)
        sent = await sequential(windows, "k", limit, 2, time.monotonic)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        sent += await sequential(windows, "k", limit, 3, time.monotonic)
    client.close()

    assert most_in_any_stretch(sent, limit.seconds) <= limit.requests
    assert sent[2] - sent[0] >= limit.seconds  # the third waited for the first to leave
    assert sum(r.name == LOGGER and r.levelno == logging.WARNING for r in caplog.records) == 1


def test_windows_for_picks_the_backend(shared_redis: Callable[[], redis.Redis]) -> None:
    assert isinstance(windows_for(None), MemoryWindows)
    assert isinstance(windows_for(shared_redis()), RedisWindows)


@pytest.mark.parametrize(
    ("limit", "sends", "expected"),
    [
        # Each sends half the limit, so together they keep it (alone, each would send it all).
        (Limit(4, 10.0), 4, [1000.0, 1000.0, 1010.0, 1010.0]),
        # Kick's one chat line a second: each may say one line every two seconds, so the
        # channel still gets one a second (one a second each would be twice Kick's limit).
        (Limit(1, 1.0), 3, [1000.0, 1002.0, 1004.0]),
    ],
    ids=["requests-cut", "window-stretched"],
)
async def test_redis_unreachable_each_process_paces_on_its_share_of_the_limit(
    fake_time: FakeTime, limit: Limit, sends: int, expected: list[float]
) -> None:
    """Two bot processes alive and Redis out: each takes its share of every limit."""
    client = redis.Redis(
        host="127.0.0.1",
        port=services.free_port(),  # nothing listens there
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )
    windows = RedisWindows(
        client,
        memory=MemoryWindows(fake_time, fake_time.sleep),
        clock=fake_time,
        sleep=fake_time.sleep,
        processes=lambda: 2,
    )

    sent = await sequential(windows, "k", limit, sends, fake_time)

    assert sent == expected
    client.close()


async def test_redis_back_after_a_restart_that_lost_it_counts_what_was_sent_before() -> None:
    """Slots taken in Redis, then during its outage, then Redis answers again empty: the
    process puts what it sent back in Redis first, so the limit holds across the return (an
    empty Redis would have let a window's worth through at once). Two processes: the other
    sees them too."""
    limit = Limit(2, 1.0)
    server = services.RestartableRedis()
    server.options = ["--save", "", "--appendonly", "no"]  # a restart loses every key
    try:
        server.start()
        client = redis.Redis.from_url(
            server.url, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        windows = RedisWindows(client, retry_redis_seconds=0)
        sent = await sequential(windows, "k", limit, 2, time.time)  # in Redis
        server.stop()
        sent += await sequential(windows, "k", limit, 2, time.time)  # in memory alone
        server.start()
        sent += await sequential(windows, "k", limit, 1, time.time)  # in Redis again
        other_client = redis.Redis.from_url(server.url, socket_timeout=1)
        other = RedisWindows(other_client)
        sent += await sequential(other, "k", limit, 1, time.time)
        client.close()
        other_client.close()
    finally:
        server.remove()

    # Redis stamps with its own clock (TIME, the wall clock of this machine), to the ms.
    assert most_in_any_stretch(sent, limit.seconds - 0.002) <= limit.requests
