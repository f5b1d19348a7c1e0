"""A bot process whose lease ran out is gone at once for the Redis bus too: the events its
consumer read and never acknowledged are taken over by a living consumer as soon as it is told,
not after Redis has not heard from it for ``dead_consumer_ms`` (the first tick of a partition
taken over waits for them)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.bus.redis_streams import RedisStreamsBus
from core.events import Event
from tests.bus import Recorder, kill, make_event, running
from tests.support.waiting import eventually


@pytest.fixture
def names() -> dict[str, str]:
    prefix = f"sk:test:{uuid.uuid4().hex[:12]}"
    return {"stream": f"{prefix}:events", "group": f"{prefix}:consumers"}


async def _killed_holding(bus: RedisStreamsBus, events: list[Event], effects: Recorder) -> None:
    """``bus`` reads ``events`` and is killed before it acknowledges any."""
    never = asyncio.Event()

    async def stuck(event: Event) -> None:
        await effects(event)
        await never.wait()

    for event in events:
        bus.publish(event)
    task = asyncio.create_task(bus.run(stuck, asyncio.Event()))
    await eventually(lambda: effects.deliveries[events[0].key] == 1, within=20)
    await kill(task)
    bus.close()


@pytest.mark.parametrize("told", [True, False])
async def test_a_consumer_told_a_process_is_gone_takes_over_its_entries_at_once(
    redis_url: str, names: dict[str, str], told: bool
):
    # Redis heard from the killed consumer just now, and claims wait ten minutes: only being
    # told can hand its entries over within the test's time.
    def make(consumer: str) -> RedisStreamsBus:
        return RedisStreamsBus(
            redis_url,
            **names,
            consumer=consumer,
            block_ms=100,
            claim_idle_ms=600_000,
            dead_consumer_ms=600_000,
        )

    events = [make_event(f"left-{n}") for n in range(3)]
    effects = Recorder()
    await _killed_holding(make("killed-bot"), events, effects)

    living = make("living-bot")
    gone: frozenset[str] = frozenset()
    living.gone_consumers = lambda: gone
    try:
        async with running(living, effects):
            await asyncio.sleep(0.3)  # the living consumer runs and takes nothing yet
            assert living.backlog() == 3
            if told:
                gone = frozenset({"killed-bot"})  # its lease ran out
                await eventually(lambda: living.backlog() == 0, within=20)
                assert effects.deliveries[events[0].key] == 2  # the killed one had it too
                assert all(effects.deliveries[event.key] >= 1 for event in events)
            else:
                await asyncio.sleep(1.0)
                assert living.backlog() == 3
    finally:
        living.close()


async def test_a_consumer_busy_with_a_long_delivery_still_takes_over_a_gone_process_at_once(
    redis_url: str, names: dict[str, str]
):
    """The takeover runs beside the reads: a round of deliveries that takes long (a loaded
    machine, 200 guilds to handle) does not hold it."""
    events = [make_event(f"left-{n}") for n in range(2)]
    effects = Recorder()
    await _killed_holding(
        RedisStreamsBus(redis_url, **names, consumer="killed-bot", block_ms=100), events, effects
    )
    living = RedisStreamsBus(
        redis_url,
        **names,
        consumer="living-bot",
        block_ms=100,
        claim_idle_ms=600_000,
        dead_consumer_ms=600_000,
    )
    gone: frozenset[str] = frozenset()
    living.gone_consumers = lambda: gone
    slow, release = make_event("slow"), asyncio.Event()

    async def handle(event: Event) -> None:
        await effects(event)
        if event.key == slow.key:
            await release.wait()

    try:
        async with running(living, handle):
            living.publish(slow)
            await eventually(lambda: effects.deliveries[slow.key] == 1, within=20)
            gone = frozenset({"killed-bot"})

            await eventually(lambda: effects.deliveries[events[1].key] == 1, within=20)
            assert not release.is_set()  # the slow delivery is still under way
            release.set()
            await eventually(lambda: living.backlog() == 0, within=20)
    finally:
        living.close()
