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
