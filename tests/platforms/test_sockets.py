"""What both platforms' sockets share (``core/platforms/sockets.py``): the supervisors' upkeep
rounds, and the publisher between a socket's queue and the bus."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.bus.base import BusUnavailable, EventRefused
from core.events import Event
from core.platforms.sockets import Publisher, repeat_until_stopped
from tests.support.events import chat_message
from tests.support.waiting import RecordingSleep, eventually

log = logging.getLogger("tests.sockets")


async def test_a_failing_step_is_logged_and_the_rounds_go_on_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    done: list[str] = []

    async def failing() -> None:
        done.append("failing")
        raise RuntimeError("no answer")

    async def counting() -> None:
        done.append("counting")
        if done.count("counting") == 2:
            stop.set()

    with caplog.at_level(logging.ERROR, logger="tests.sockets"):
        await asyncio.wait_for(
            repeat_until_stopped(
                stop,
                [(failing, "could not fail quietly"), (counting, "could not count")],
                every_seconds=0.01,
                logger=log,
            ),
            timeout=5,
        )

    assert done == ["failing", "counting", "failing", "counting"]
    assert [r.getMessage() for r in caplog.records] == ["could not fail quietly"] * 2


class Bus:
    """The bus's synchronous ``publish`` (as Kick's Pusher and the EventSub socket are given
    it): raises each of ``failures`` in turn first, then takes every event once by its key."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.tries: list[str] = []
        self.taken: list[str] = []

    def __call__(self, event: Event) -> bool:
        self.tries.append(event.event_id)
        if self.failures:
            raise self.failures.pop(0)
        if event.key in self.taken:
            return False
        self.taken.append(event.key)
        return True


async def published(bus: Bus, events: list[Event], sleep: RecordingSleep, until: int) -> None:
    """Queue ``events`` for a publisher on ``bus`` and let it run until ``until`` were taken."""
    queue: asyncio.Queue[Event] = asyncio.Queue(10)
    publisher = Publisher(bus, label="Test socket", logger=log, sleep=sleep)
    for event in events:
        queue.put_nowait(event)
    task = asyncio.create_task(publisher.publish_from(queue))
    try:
        await eventually(lambda: len(bus.taken) >= until, within=30)
        await asyncio.wait_for(queue.join(), 30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_event_the_bus_cannot_take_for_now_is_tried_again_before_the_next() -> None:
    """No webhook redelivers what only a socket read: a bus away for a moment (Redis, the
    database) must not lose it. It stays first, tried after growing waits, then the rest."""
    first, second = chat_message(event_id="first"), chat_message(event_id="second")
    outage = [BusUnavailable("Redis is unavailable") for _ in range(8)]
    bus, sleep = Bus(*outage), RecordingSleep(yields=True)
    await published(bus, [first, second], sleep, until=2)
    assert bus.taken == [first.key, second.key]
    assert bus.tries == ["first"] * 9 + ["second"]
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


async def test_an_event_the_bus_refuses_for_good_is_dropped_and_the_next_published(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused, next_one = chat_message(event_id="refused"), chat_message(event_id="next")
    bus, sleep = Bus(EventRefused("the database refuses these")), RecordingSleep(yields=True)
    with caplog.at_level(logging.ERROR, logger="tests.sockets"):
        await published(bus, [refused, next_one], sleep, until=1)
    assert bus.taken == [next_one.key]
    assert bus.tries == ["refused", "next"]
    assert sleep.delays == []
    assert [r.getMessage() for r in caplog.records] == [
        f"Test socket: the bus refused {refused.key} for good: the database refuses these"
    ]


async def test_a_copy_queued_behind_an_event_tried_again_is_published_once() -> None:
    """Pusher hands on an event a webhook brings too; the copy waits behind the retried one and
    is then a recent key: the bus is asked once it took the first."""
    event = chat_message(event_id="twice")
    bus, sleep = Bus(BusUnavailable("the event queue is closing")), RecordingSleep(yields=True)
    await published(bus, [event, event], sleep, until=1)
    assert bus.taken == [event.key]
    assert bus.tries == ["twice", "twice"]  # the failed try and the one that took it
