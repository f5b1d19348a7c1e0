"""The Redis Streams bus, and the behaviour every bus shares.

The first half is the bus contract, run against both buses (``case`` is parametrized over the
embedded bus on SQLite and the Redis bus on a throwaway redis-server): the Redis bus must behave
like the embedded one. The second half covers what only the Redis bus has.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa

from core.bus import redis_consumer
from core.bus.base import DEAD_RETENTION, BusUnavailable, EventBus
from core.bus.embedded import EmbeddedBus
from core.bus.redis_streams import RedisStreamsBus, dead_stream, seen_key
from core.bus.replay import delivery_key
from core.discord_bot.gateway import DiscordUnavailable
from core.events import Event, event_from_dict
from core.guild_ticks import GuildTicks
from core.storage.tables import bus_events
from tests import services
from tests.bus import SOON, START, Recorder, kill, make_event, running
from tests.support.clock import Clock
from tests.support.events import chat_message
from tests.support.waiting import eventually

LOGGER = "core.bus"

# --- the contract, for both buses -----------------------------------------------------------


@dataclass
class Case:
    """One bus under test, and how to make more instances of it on the same store."""

    kind: str
    make: Callable[..., EventBus]
    tick: Callable[[], None]  # lets any retry delay pass (the embedded bus's clock moves on)
    dead: Callable[[], list[str]]  # keys of the events set aside, oldest first
    block_seconds: float
    buses: list[EventBus] = field(default_factory=list)

    def new_bus(self, *, max_deliveries: int = 5, block_seconds: float | None = None) -> EventBus:
        """A new instance on the same database, or the same stream and group (new consumer);
        ``block_seconds``: how long it waits for events in one read or poll (the case's own by
        default)."""
        bus = self.make(
            max_deliveries=max_deliveries, block_seconds=block_seconds or self.block_seconds
        )
        self.buses.append(bus)
        return bus


def _embedded_case(engine: sa.Engine) -> Case:
    clock = Clock(START)

    def make(*, max_deliveries: int, block_seconds: float) -> EventBus:
        return EmbeddedBus(
            engine, poll_seconds=block_seconds, max_attempts=max_deliveries, clock=clock
        )

    def dead() -> list[str]:
        query = sa.select(bus_events.c.payload).where(bus_events.c.dead_at.is_not(None))
        with engine.connect() as conn:
            payloads = conn.execute(query.order_by(bus_events.c.id)).scalars().all()
        return [event_from_dict(json.loads(payload)).key for payload in payloads]

    return Case("embedded", make, lambda: clock.advance(SOON), dead, block_seconds=0.02)


def _redis_case(url: str, client: redis.Redis) -> Case:
    name = f"sk:test:{uuid.uuid4().hex[:12]}"
    clock = Clock()

    def make(*, max_deliveries: int, block_seconds: float) -> EventBus:
        return RedisStreamsBus(
            url,
            stream=f"{name}:events",
            group=f"{name}:consumers",
            consumer=f"consumer-{uuid.uuid4().hex[:8]}",
            block_ms=round(block_seconds * 1000),
            claim_idle_ms=100,
            max_deliveries=max_deliveries,
            clock=clock,
        )

    def dead() -> list[str]:
        entries = client.xrange(dead_stream(f"{name}:events"))
        return [event_from_dict(json.loads(fields["event"])).key for _, fields in entries]

    return Case("redis", make, lambda: clock.advance(SOON), dead, block_seconds=0.1)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(params=["embedded-sqlite", "embedded-postgresql", "redis"])
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    if request.param == "embedded-sqlite":
        made = _embedded_case(request.getfixturevalue("sqlite_engine"))
    elif request.param == "embedded-postgresql":
        made = _embedded_case(request.getfixturevalue("postgres_engine"))
    else:
        made = _redis_case(
            request.getfixturevalue("redis_url"), request.getfixturevalue("redis_client")
        )
    yield made
    for bus in made.buses:
        bus.close()


async def test_events_are_delivered_once_in_publish_order_and_acknowledged(case: Case):
    bus = case.new_bus()
    early = [make_event(f"early {n}") for n in range(3)]
    for event in early:
        assert bus.publish(event) is True
    assert bus.backlog() == 3
    recorder = Recorder()

    async with running(bus, recorder):
        await eventually(lambda: len(recorder.order) == 3, within=30)
        late = [make_event(f"late {n}") for n in range(3)]
        for event in late:  # from another thread, as the web side does
            assert await asyncio.to_thread(bus.publish, event) is True
        await eventually(lambda: len(recorder.order) == 6 and bus.backlog() == 0, within=30)

    assert recorder.order == [event.key for event in early + late]
    assert set(recorder.deliveries.values()) == {1}
    assert bus.backlog() == 0
    assert case.dead() == []


async def test_the_bus_says_which_events_stamped_before_an_instant_are_unhandled(case: Case):
    from datetime import UTC, datetime

    bus = case.new_bus()
    first, second = make_event("first"), make_event("second")
    bus.publish(first)
    bus.publish(second)
    instant = datetime(2100, 1, 1, tzinfo=UTC)  # after everything (each bus has its own clock)

    assert {e.key for e in bus.unhandled_before(instant, limit=10)} == {first.key, second.key}
    assert bus.unhandled_before(instant, limit=1) is None  # too many to look at
    assert bus.unhandled_before(datetime(2000, 1, 1, tzinfo=UTC), limit=10) == []

    recorder = Recorder()
    async with running(bus, recorder):
        await eventually(lambda: len(recorder.order) == 2, within=30)
        await eventually(lambda: bus.unhandled_before(instant, limit=10) == [], within=30)
    again = make_event("queued while no consumer runs")
    bus.publish(again)
    assert [e.key for e in bus.unhandled_before(instant, limit=10)] == [again.key]


def _chat_stamped(moment: datetime, text: str) -> Event:
    return chat_message(text, broadcaster="broadcaster-1", user_id=f"viewer-{text}", at=moment)


async def test_the_barrier_goes_by_the_stamp_not_by_when_an_event_was_queued(case: Case):
    """The watchtime rule: a tick counts what is stamped strictly before its instant. Of three
    chats queued at the same time (the embedded bus queues at its clock, START; Redis now,
    years before), only the one stamped before the instant is waited for; one stamped in the
    instant's own second is not, even a fraction of a second into it."""
    bus = case.new_bus()
    before = _chat_stamped(START - timedelta(seconds=1), "before")
    own_second = _chat_stamped(START, "own-second")
    fraction_in = _chat_stamped(START + timedelta(seconds=0.4), "fraction-in")
    for event in (own_second, before, fraction_in):
        bus.publish(event)

    assert [e.key for e in bus.unhandled_before(START, limit=10)] == [before.key]
    assert len(bus.unhandled_before(START + timedelta(seconds=1), limit=10)) == 3


async def test_a_guild_tick_waits_for_a_chat_stamped_before_its_instant_queued_after_it(
    case: Case,
):
    """On both buses, for an instant an hour ago (so that both queue after it): a chat stamped
    in the instant's own second holds no tick; one stamped a second before it does, until it
    is handled."""
    instant = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    bus = case.new_bus()
    bus.publish(_chat_stamped(instant, "own-second"))
    ticked: list[tuple[int, datetime]] = []
    ticks = GuildTicks(
        bus,
        lambda: [1],
        lambda platform, broadcaster, via: [1],
        lambda guild_ids, at: ticked.extend((g, at) for g in guild_ids),
        limit_seconds=60.0,
    )
    await asyncio.wait_for(ticks.run(instant, asyncio.Event()), timeout=30)
    assert ticked == [(1, instant)]

    late = _chat_stamped(instant + timedelta(seconds=1), "late")
    bus.publish(late)
    ticked.clear()
    later = instant + timedelta(seconds=2)
    run = asyncio.create_task(ticks.run(later, asyncio.Event()))
    await asyncio.sleep(0.3)
    assert ticked == [], "the tick ran while a chat stamped before its instant was queued"
    recorder = Recorder()
    async with running(bus, recorder):
        await asyncio.wait_for(run, timeout=30)
    assert late.key in recorder.order
    assert ticked == [(1, later)]


async def test_the_same_event_published_twice_is_queued_and_delivered_once(case: Case):
    bus = case.new_bus()
    event = make_event("once")
    assert bus.publish(event) is True
    assert bus.publish(event) is False
    assert bus.publish(dataclasses.replace(event, content="same key")) is False
    marker = make_event("marker")
    assert bus.publish(marker) is True
    recorder = Recorder()

    async with running(bus, recorder):
        await eventually(
            lambda: recorder.deliveries[marker.key] == 1 and bus.backlog() == 0, within=30
        )

    assert recorder.deliveries == {event.key: 1, marker.key: 1}
    assert bus.publish(event) is False  # still known after it was handled
    assert case.new_bus().publish(event) is False  # and by every instance on the same store


async def test_an_event_whose_handler_fails_once_is_delivered_again_then_acknowledged(
    case: Case,
):
    flaky, steady = make_event("flaky"), make_event("steady")

    def fail(event: Event, delivery: int) -> None:
        if event.key == flaky.key and delivery == 1:
            raise RuntimeError("the database blinked")

    bus = case.new_bus()
    bus.publish(flaky)
    bus.publish(steady)
    recorder = Recorder(fail)

    async with running(bus, recorder):
        await eventually(
            lambda: recorder.deliveries[flaky.key] == 2 and bus.backlog() == 0,
            tick=case.tick,
            within=30,
        )

    assert recorder.deliveries == {flaky.key: 2, steady.key: 1}
    assert case.dead() == []


async def test_an_event_that_keeps_failing_is_set_aside_and_the_rest_flows_on(
    case: Case, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.ERROR, logger=LOGGER)
    poison, after = make_event("poison"), make_event("after")

    def fail(event: Event, delivery: int) -> None:
        if event.key == poison.key:
            raise RuntimeError("never works")

    bus = case.new_bus(max_deliveries=3)
    bus.publish(poison)
    bus.publish(after)
    recorder = Recorder(fail)

    async with running(bus, recorder):
        await eventually(lambda: recorder.deliveries[after.key] == 1, within=30)
        await eventually(
            lambda: case.dead() == [poison.key] and bus.backlog() == 0, tick=case.tick, within=30
        )
        later = make_event("later")
        bus.publish(later)
        await eventually(
            lambda: recorder.deliveries[later.key] == 1 and bus.backlog() == 0, within=30
        )

    assert recorder.deliveries == {poison.key: 3, after.key: 1, later.key: 1}
    assert any(
        record.levelno == logging.ERROR and "set aside" in record.getMessage()
        for record in caplog.records
    )


async def test_an_event_that_waits_for_discord_twenty_times_is_delivered_and_never_dead(
    case: Case,
):
    waiting, steady = make_event("needs discord"), make_event("steady")

    def fail(event: Event, delivery: int) -> None:
        if event.key == waiting.key and delivery <= 20:
            raise DiscordUnavailable("the Discord bot is not connected yet")

    bus = case.new_bus(max_deliveries=3)
    bus.publish(waiting)
    bus.publish(steady)
    recorder = Recorder(fail)

    async with running(bus, recorder):
        await eventually(lambda: recorder.deliveries[steady.key] == 1, within=30)
        await eventually(
            lambda: recorder.deliveries[waiting.key] == 21 and bus.backlog() == 0,
            tick=case.tick,
            within=60,
        )

    assert recorder.deliveries == {waiting.key: 21, steady.key: 1}
    assert case.dead() == []


async def test_waiting_spends_no_failures_but_real_failures_still_add_up(case: Case):
    """Failures before and after a wait count together: 1 + 10 waits + 2 = dead at the 3rd."""
    event = make_event("flaky")

    def fail(event: Event, delivery: int) -> None:
        if 2 <= delivery <= 11:
            raise DiscordUnavailable("the Discord bot is not connected yet")
        raise RuntimeError("a real failure")

    bus = case.new_bus(max_deliveries=3)
    bus.publish(event)
    recorder = Recorder(fail)

    async with running(bus, recorder):
        await eventually(
            lambda: case.dead() == [event.key] and bus.backlog() == 0, tick=case.tick, within=60
        )

    assert recorder.deliveries[event.key] == 13


async def test_an_event_handled_but_not_acknowledged_before_a_crash_is_delivered_again(
    case: Case,
):
    events = [make_event(f"crash {n}") for n in range(3)]
    first, crashing_on, untouched = (event.key for event in events)
    effects = Recorder()
    never = asyncio.Event()

    async def handler_then_crash(event: Event) -> None:
        await effects(event)  # the effect is done...
        if event.key == crashing_on:
            await never.wait()  # ...and the process dies before the acknowledgement

    crashed_bus = case.new_bus()
    for event in events:
        crashed_bus.publish(event)
    stop = asyncio.Event()
    task = asyncio.create_task(crashed_bus.run(handler_then_crash, stop))
    await eventually(lambda: effects.deliveries[crashing_on] == 1, within=30)
    await kill(task)
    assert effects.deliveries == {first: 1, crashing_on: 1}
    assert crashed_bus.backlog() == 2

    restarted = case.new_bus()  # same store; for Redis another consumer name
    async with running(restarted, effects):
        await eventually(
            lambda: effects.deliveries[untouched] == 1 and restarted.backlog() == 0,
            tick=case.tick,
            within=30,
        )

    assert effects.deliveries == {first: 1, crashing_on: 2, untouched: 1}
    assert effects.order[-2:] == [crashing_on, untouched]


async def test_run_returns_once_stop_is_set_after_at_most_one_wait(case: Case):
    bus = case.new_bus()
    stop = asyncio.Event()
    task = asyncio.create_task(bus.run(Recorder(), stop))
    await asyncio.sleep(0.15)  # the loop is idle, waiting for events
    assert not task.done()

    stop.set()
    async with asyncio.timeout(case.block_seconds + 10):  # the read or poll under way may end
        await task


async def test_run_with_stop_already_set_returns_without_waiting_for_events(case: Case):
    stop = asyncio.Event()
    stop.set()
    bus = case.new_bus(block_seconds=600)  # one read or poll would outlast the timeout
    async with asyncio.timeout(10):
        await bus.run(Recorder(), stop)


# --- Redis only ----------------------------------------------------------------------------


@pytest.fixture
def names() -> dict[str, str]:
    prefix = f"sk:test:{uuid.uuid4().hex[:12]}"
    return {"stream": f"{prefix}:events", "group": f"{prefix}:consumers"}


def test_defaults_name_the_keys_and_the_consumer():
    bus = RedisStreamsBus("redis://127.0.0.1:1/0")
    try:
        assert (bus.name, bus.stream, bus.group) == ("redis", "sk:events", "sk:consumers")
        assert bus.dead_stream == "sk:events:dead"
        # Its own name per process: the host, then the pid and a random part.
        assert bus.consumer.startswith(f"{socket.gethostname()[:40]}-{os.getpid()}-")
        assert seen_key("kick:followed:42") == "sk:event-seen:kick:followed:42"
    finally:
        bus.close()


def test_publish_appends_the_event_as_json_and_remembers_its_key_for_the_ttl(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    bus = RedisStreamsBus(redis_url, **names, dedupe_ttl_seconds=3600)
    event = make_event("stored")
    try:
        assert bus.publish(event) is True
    finally:
        bus.close()

    [(_, fields)] = redis_client.xrange(names["stream"])
    assert event_from_dict(json.loads(fields["event"])) == event
    assert redis_client.get(seen_key(event.key)) == "1"
    assert 3590 < redis_client.ttl(seen_key(event.key)) <= 3600


def test_publish_delivery_queues_the_event_and_remembers_the_message_id_for_a_day(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    bus = RedisStreamsBus(redis_url, **names, dedupe_ttl_seconds=3600)
    event, message_id = make_event("delivered"), f"msg-{uuid.uuid4().hex}"
    try:
        assert bus.publish_delivery(event, message_id) is True
    finally:
        bus.close()

    [(_, fields)] = redis_client.xrange(names["stream"])
    assert event_from_dict(json.loads(fields["event"])) == event
    assert 3590 < redis_client.ttl(seen_key(event.key)) <= 3600
    assert redis_client.get(delivery_key(message_id)) == "1"
    assert 86_390 < redis_client.ttl(delivery_key(message_id)) <= 86_400


def test_publish_delivery_refuses_a_repeated_message_id_or_event_and_writes_nothing(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    bus = RedisStreamsBus(redis_url, **names)
    first, message_id = make_event("first"), f"msg-{uuid.uuid4().hex}"
    other_message_id = f"msg-{uuid.uuid4().hex}"
    try:
        assert bus.publish_delivery(first, message_id) is True
        # The same delivery again, even carrying another event: a replay.
        assert bus.publish_delivery(make_event("other"), message_id) is False
        # The same event under a new message id (Kick resent it): already queued.
        assert bus.publish_delivery(first, other_message_id) is False
        # The replay guard and publish share the keys: an event published by Pusher first.
        pushed = make_event("from the socket")
        assert bus.publish(pushed) is True
        assert bus.publish_delivery(pushed, f"msg-{uuid.uuid4().hex}") is False
    finally:
        bus.close()

    assert redis_client.xlen(names["stream"]) == 2
    assert redis_client.exists(delivery_key(other_message_id)) == 0


def test_publish_delivery_that_fails_remembers_nothing_so_the_retry_is_queued(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    bus = RedisStreamsBus(redis_url, **names)
    event, message_id = make_event("retried"), f"msg-{uuid.uuid4().hex}"
    redis_client.set(names["stream"], "not a stream")  # XADD fails inside the script
    try:
        with pytest.raises(BusUnavailable, match="did not queue the event"):
            bus.publish_delivery(event, message_id)
        assert redis_client.exists(seen_key(event.key), delivery_key(message_id)) == 0

        redis_client.delete(names["stream"])
        assert bus.publish_delivery(event, message_id) is True
    finally:
        bus.close()
    assert redis_client.xlen(names["stream"]) == 1


async def test_an_undecodable_entry_is_set_aside_at_once_and_delivery_goes_on(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    redis_client.xadd(names["stream"], {"event": "{not json"})
    redis_client.xadd(names["stream"], {"something": "else"})
    redis_client.xadd(names["stream"], {"event": json.dumps({"kind": "no such kind"})})
    bus = RedisStreamsBus(redis_url, **names, block_ms=100, claim_idle_ms=100)
    good = make_event("good")
    bus.publish(good)
    recorder = Recorder()
    try:
        async with running(bus, recorder):
            await eventually(
                lambda: recorder.deliveries[good.key] == 1 and bus.backlog() == 0, within=30
            )
    finally:
        bus.close()

    dead = [fields for _, fields in redis_client.xrange(bus.dead_stream)]
    assert len(dead) == 3
    assert all(entry["reason"].startswith("undecodable") for entry in dead)
    assert [entry["deliveries"] for entry in dead] == ["1", "1", "1"]
    assert dead[0]["event"] == "{not json"
    assert recorder.deliveries == {good.key: 1}


async def test_dead_entries_are_trimmed_30_days_after_they_were_set_aside(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    """As the embedded bus deletes its dead rows: a dead entry (its payload may be a viewer's
    chat line) stays ``DEAD_RETENTION`` for the event log's retry, then ``prune`` trims it; the
    stream's length bound (MAXLEN) alone would keep it for good in a quiet deployment."""
    now = datetime.now(UTC)
    clock = Clock(now)
    bus = RedisStreamsBus(redis_url, **names, block_ms=100, claim_idle_ms=100, max_deliveries=1,
                          clock=clock)  # fmt: skip
    long_ago = now - DEAD_RETENTION - timedelta(minutes=1)
    redis_client.xadd(bus.dead_stream, {"event": "{}"}, id=f"{int(long_ago.timestamp() * 1000)}-0")
    poison = make_event("poison")
    bus.publish(poison)
    try:
        async with running(bus, Recorder(lambda event, delivery: _raise())):
            await eventually(lambda: redis_client.xlen(bus.dead_stream) == 2, within=30)

        assert bus.prune() == 1  # the one set aside over 30 days ago
        [(_, fields)] = redis_client.xrange(bus.dead_stream)
        assert event_from_dict(json.loads(fields["event"])).key == poison.key
        clock.advance(DEAD_RETENTION - timedelta(minutes=1))
        assert bus.prune() == 0
        clock.advance(timedelta(minutes=2))
        assert bus.prune() == 1
        assert redis_client.xlen(bus.dead_stream) == 0
    finally:
        bus.close()


def _raise() -> None:
    raise RuntimeError("never works")


async def test_a_restarted_consumer_first_delivers_its_own_pending_entries(
    redis_url: str, names: dict[str, str]
):
    # claim_idle_ms is long: only "own pending first" can bring the entry back this quickly.
    def make() -> RedisStreamsBus:
        return RedisStreamsBus(
            redis_url, **names, consumer="same-host-1", block_ms=100, claim_idle_ms=60_000
        )

    event = make_event("own")
    effects, never = Recorder(), asyncio.Event()

    async def stuck(event: Event) -> None:
        await effects(event)
        await never.wait()

    crashed = make()
    crashed.publish(event)
    task = asyncio.create_task(crashed.run(stuck, asyncio.Event()))
    await eventually(lambda: effects.deliveries[event.key] == 1, within=20)
    await kill(task)
    crashed.close()

    restarted = make()
    try:
        async with running(restarted, effects):
            await eventually(lambda: effects.deliveries[event.key] == 2, within=20)
            await eventually(lambda: restarted.backlog() == 0, within=20)
    finally:
        restarted.close()


async def test_a_consumer_under_a_new_name_takes_over_a_dead_ones_entries_at_start(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
):
    # claim_idle_ms is long: only the takeover of the gone consumer can deliver this quickly.
    def make(consumer: str) -> RedisStreamsBus:
        return RedisStreamsBus(
            redis_url,
            **names,
            consumer=consumer,
            block_ms=100,
            claim_idle_ms=60_000,
            dead_consumer_ms=300,
        )

    events = [make_event(f"left-{n}") for n in range(3)]
    effects, never = Recorder(), asyncio.Event()

    async def stuck(event: Event) -> None:
        await effects(event)
        await never.wait()

    crashed = make("old-container")
    for event in events:
        crashed.publish(event)
    task = asyncio.create_task(crashed.run(stuck, asyncio.Event()))
    await eventually(lambda: effects.deliveries[events[0].key] == 1, within=20)
    await kill(task)  # read all three, acknowledged none
    crashed.close()
    await asyncio.sleep(0.4)  # Redis has not heard from it for longer than dead_consumer_ms

    def consumers() -> set[str]:
        infos = redis_client.xinfo_consumers(names["stream"], names["group"])
        return {info["name"] for info in infos}

    restarted = make("new-container")
    try:
        async with running(restarted, effects):
            await eventually(lambda: restarted.backlog() == 0, within=20)
            # The gone consumer is removed once it holds nothing (at the takeover pass after).
            await eventually(lambda: consumers() == {"new-container"}, within=20)
    finally:
        restarted.close()
    assert all(effects.deliveries[event.key] >= 1 for event in events)


async def test_an_entry_trimmed_while_pending_is_acknowledged_with_an_error(
    redis_url: str,
    redis_client: redis.Redis,
    names: dict[str, str],
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.ERROR, logger=LOGGER)

    def make() -> RedisStreamsBus:
        return RedisStreamsBus(redis_url, **names, consumer="c1", block_ms=100)

    effects, never = Recorder(), asyncio.Event()

    async def stuck(event: Event) -> None:
        await effects(event)
        await never.wait()

    crashed = make()
    crashed.publish(make_event("trimmed"))
    task = asyncio.create_task(crashed.run(stuck, asyncio.Event()))
    await eventually(lambda: len(effects.order) == 1, within=20)
    await kill(task)
    crashed.close()
    [(entry_id, _)] = redis_client.xrange(names["stream"])
    redis_client.xdel(names["stream"], entry_id)

    restarted = make()
    try:
        async with running(restarted, effects):
            await eventually(lambda: restarted.backlog() == 0, within=20)
    finally:
        restarted.close()
    assert len(effects.order) == 1
    assert any("trimmed" in record.getMessage() for record in caplog.records)


async def test_backlog_counts_entries_not_yet_delivered_and_not_yet_acknowledged(
    redis_url: str, names: dict[str, str]
):
    bus = RedisStreamsBus(redis_url, **names, block_ms=100, claim_idle_ms=60_000)
    try:
        assert bus.backlog() == 0  # no stream yet
        stuck, fine = make_event("stuck"), make_event("fine")
        bus.publish(stuck)
        bus.publish(fine)
        assert bus.backlog() == 2  # no consumer group yet: the whole stream waits

        def fail(event: Event, delivery: int) -> None:
            if event.key == stuck.key:
                raise RuntimeError("not now")

        recorder = Recorder(fail)
        async with running(bus, recorder):
            await eventually(
                lambda: recorder.deliveries[fine.key] == 1 and bus.backlog() == 1, within=20
            )
        assert bus.backlog() == 1  # pending: delivered, not acknowledged

        bus.publish(make_event("new 1"))
        bus.publish(make_event("new 2"))
        assert bus.backlog() == 3  # 1 pending + 2 not yet delivered (the group's lag)
    finally:
        bus.close()


def test_unreachable_redis_raises_bus_unavailable_without_the_password():
    port = services.free_port()
    bus = RedisStreamsBus(f"redis://:hunter2@127.0.0.1:{port}/0")
    try:
        calls = (
            lambda: bus.publish(make_event()),
            lambda: bus.publish_delivery(make_event(), "msg-1"),
            bus.ping,
            bus.backlog,
        )
        for call in calls:
            with pytest.raises(BusUnavailable) as raised:
                call()
            assert str(raised.value) == f"Could not reach Redis at 127.0.0.1:{port}"
            assert "hunter2" not in "".join(traceback.format_exception(raised.value))
    finally:
        bus.close()


async def test_the_consumer_waits_out_an_unreachable_redis_with_one_warning(
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    port = services.free_port()
    bus = RedisStreamsBus(f"redis://:hunter2@127.0.0.1:{port}/0", block_ms=100)
    try:
        async with running(bus, Recorder()) as task:
            await asyncio.sleep(0.5)  # a few attempts: retries after 0.1 s, 0.2 s, ...
            assert not task.done()
    finally:
        bus.close()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"127.0.0.1:{port}" in warnings[0].getMessage()
    assert "hunter2" not in caplog.text


async def test_stop_does_not_wait_out_a_retry(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    monkeypatch.setattr(redis_consumer, "_RETRY_FIRST_SECONDS", 600.0)
    bus = RedisStreamsBus(f"redis://127.0.0.1:{services.free_port()}/0", block_ms=100)
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(bus.run(Recorder(), stop))
        await eventually(lambda: caplog.records)  # failed once: now waiting 600 s to retry
        stop.set()
        async with asyncio.timeout(10):
            await task
    finally:
        bus.close()


async def test_the_consumer_resumes_when_redis_comes_back(caplog: pytest.LogCaptureFixture):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    caplog.set_level(logging.INFO, logger=LOGGER)
    port = services.free_port()
    bus = RedisStreamsBus(f"redis://127.0.0.1:{port}/0", block_ms=100, claim_idle_ms=100)
    recorder = Recorder()
    server: asyncio.subprocess.Process | None = None
    try:
        async with running(bus, recorder):
            await asyncio.sleep(0.15)  # Redis is down: the loop waits and retries
            server = await asyncio.create_subprocess_exec(
                binary,
                *("--bind", "127.0.0.1", "--port", str(port), "--save", ""),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.to_thread(services._wait_for_port, port, 30)
            event = make_event("after the outage")
            assert bus.publish(event) is True
            # Its retries double from 0.1 s while Redis starts (tries at 3.1 s, then 6.3 s, ...):
            # the next may come seconds after Redis answers, past a 3 s bound.
            await eventually(lambda: recorder.deliveries[event.key] == 1, within=60)
    finally:
        bus.close()
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), timeout=10)

    assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_an_entry_whose_handler_failed_is_delivered_again_after_a_short_backoff(
    redis_url: str, names: dict[str, str]
):
    # claim_idle_ms is long: the retry must not wait for XAUTOCLAIM (a database restart would
    # otherwise hold the watchtime tick for a minute).
    bus = RedisStreamsBus(
        redis_url, **names, consumer="retrying", block_ms=100, claim_idle_ms=60_000
    )
    event = make_event("blinked")

    def fail(event: Event, delivery: int) -> None:
        if delivery == 1:
            raise RuntimeError("the database blinked")

    recorder = Recorder(fail)
    bus.publish(event)
    try:
        async with running(bus, recorder):
            await eventually(lambda: bus.backlog() == 0, within=20)
    finally:
        bus.close()
    assert recorder.deliveries[event.key] == 2


async def test_oldest_unhandled_is_when_the_first_unacknowledged_entry_was_queued(
    redis_url: str, names: dict[str, str]
):
    from datetime import UTC, datetime, timedelta

    bus = RedisStreamsBus(redis_url, **names, consumer="oldest", block_ms=100)
    try:
        assert bus.oldest_unhandled() is None
        before = datetime.now(UTC) - timedelta(seconds=1)
        bus.publish(make_event("waiting"))
        oldest = bus.oldest_unhandled()
        assert oldest is not None
        assert before <= oldest <= datetime.now(UTC) + timedelta(seconds=1)
        async with running(bus, Recorder()):
            await eventually(lambda: bus.backlog() == 0, within=20)
        assert bus.oldest_unhandled() is None
    finally:
        bus.close()
