"""While the database is away, the Redis consumer retries within seconds and sets nothing aside;
once it answers, the backlog is handled at once (issue 26, fault 2). Real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis
import sqlalchemy.exc

from core.bus.redis_streams import RedisStreamsBus, dead_stream
from core.events import Event
from tests.bus import make_event, running
from tests.support.waiting import eventually


class Database:
    """A handler whose database is away until told otherwise."""

    def __init__(self) -> None:
        self.away = True
        self.refused = 0
        self.handled: list[str] = []

    async def __call__(self, event: Event) -> None:
        if self.away:
            self.refused += 1
            raise sqlalchemy.exc.OperationalError("INSERT ...", {}, ConnectionRefusedError())
        self.handled.append(event.key)


@pytest.fixture
def bus(redis_url: str):  # type: ignore[no-untyped-def]
    name = f"sk:test:{uuid.uuid4().hex[:12]}"
    made = RedisStreamsBus(
        redis_url,
        stream=f"{name}:events",
        group=f"{name}:consumers",
        consumer="only",
        block_ms=50,
        claim_idle_ms=60_000,  # a stale-entry claim would come far too late to help
        max_deliveries=5,
    )
    yield made
    made.close()


async def test_an_outage_burns_no_deliveries_and_the_backlog_flows_when_it_ends(
    bus: RedisStreamsBus, redis_url: str
):
    events = [make_event(f"chat {n}") for n in range(20)]
    for event in events:
        bus.publish(event)
    database = Database()

    async with running(bus, database):
        # Well past max_deliveries rounds of refusals: an outage is not the events' failure.
        await eventually(lambda: database.refused >= 20 * 6, within=30)
        database.away = False
        await eventually(lambda: len(database.handled) == 20, within=20)

    assert sorted(database.handled) == sorted(e.key for e in events)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert client.xlen(dead_stream(bus.stream)) == 0
    finally:
        client.close()
    assert bus.backlog() == 0


def test_two_processes_on_one_host_never_share_a_consumer_name(redis_url: str):
    first, second = RedisStreamsBus(redis_url), RedisStreamsBus(redis_url)
    try:
        assert first.consumer != second.consumer
        assert first.consumer.split("-")[0] == second.consumer.split("-")[0]  # the same host
    finally:
        first.close()
        second.close()


def _bus(redis_url: str, name: str, consumer: str, max_deliveries: int) -> RedisStreamsBus:
    return RedisStreamsBus(
        redis_url,
        stream=f"{name}:events",
        group=f"{name}:consumers",
        consumer=consumer,
        block_ms=50,
        claim_idle_ms=60_000,
        dead_consumer_ms=200,  # a consumer that stopped is taken over at once
        max_deliveries=max_deliveries,
    )


class Failing:
    """A handler that fails on every event (the event's own fault)."""

    def __init__(self) -> None:
        self.failed = 0

    async def __call__(self, event: Event) -> None:
        self.failed += 1
        raise RuntimeError("this event breaks its handler")


async def test_deliveries_to_killed_processes_and_outages_elsewhere_spend_no_failures(
    redis_url: str,
):
    """Redis counts every delivery, each takeover's among them: a chat read by processes that
    were killed one after another, and by one whose database was away, is still handled."""
    name = f"sk:test:{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    first = _bus(redis_url, name, "away", max_deliveries=2)
    event = make_event("said while processes died")
    first.publish(event)
    try:
        away = Database()
        async with running(first, away):  # its database is away: refusals, not failures
            await eventually(lambda: away.refused >= 3, within=20)
        first.close()
        for n in range(6):  # read again by six processes, each killed before it answered
            client.xclaim(first.stream, first.group, f"killed-{n}", 0, [_only_entry(client, name)])
        pending = client.xpending_range(first.stream, first.group, "-", "+", 1)
        assert pending[0]["times_delivered"] >= 8

        database = Database()
        database.away = False
        survivor = _bus(redis_url, name, "survivor", max_deliveries=2)
        try:
            async with running(survivor, database):
                await eventually(lambda: database.handled == [event.key], within=20)
        finally:
            survivor.close()
        assert client.xlen(dead_stream(first.stream)) == 0
    finally:
        client.close()


async def test_a_handlers_failures_add_up_across_processes(redis_url: str):
    name = f"sk:test:{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    event = make_event("breaks every handler")
    try:
        for n in range(2):
            bus = _bus(redis_url, name, f"process-{n}", max_deliveries=2)
            if n == 0:
                bus.publish(event)
            failing = Failing()
            try:
                async with running(bus, failing):
                    await eventually(lambda f=failing: f.failed >= 1, within=20)
            finally:
                bus.close()
        # Two failures, one in each process: set aside, never handed to a third.
        survivor = _bus(redis_url, name, "third", max_deliveries=2)
        third = Failing()
        try:
            async with running(survivor, third):
                await eventually(lambda: client.xlen(dead_stream(survivor.stream)) == 1, within=20)
        finally:
            survivor.close()
        assert third.failed == 0
    finally:
        client.close()


def _only_entry(client: redis.Redis, name: str) -> str:
    (entry_id, _fields), *_ = client.xrange(f"{name}:events")
    return str(entry_id)
