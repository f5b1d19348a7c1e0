"""What only the embedded (database) bus has; the shared contract is in test_redis_streams.py."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.bus import embedded
from core.bus.base import DEAD_RETENTION, BusUnavailable
from core.bus.embedded import EmbeddedBus
from core.discord_bot.gateway import DiscordUnavailable
from core.events import Event, utc
from core.storage.db import create_engine
from core.storage.tables import bus_events
from tests.bus import START, Recorder, make_event, running
from tests.support.clock import Clock
from tests.support.waiting import eventually


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def bus(engine: Engine, clock: Clock):
    bus = EmbeddedBus(engine, poll_seconds=0.02, clock=clock)
    yield bus
    bus.close()


def _rows(engine: Engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {row.event_key: row for row in conn.execute(sa.select(bus_events))}


async def test_a_failed_event_waits_two_to_the_attempts_seconds_before_its_retry(
    bus: EmbeddedBus, clock: Clock, engine: Engine
):
    event = make_event()
    bus.publish(event)
    recorder = Recorder(lambda e, delivery: _raise() if delivery <= 2 else None)

    assert await bus.deliver_due(recorder) == 1  # attempt 1 fails: next in 2 s
    row = _rows(engine)[event.key]
    assert (row.attempts, row.next_attempt_at) == (1, START + timedelta(seconds=2))
    assert "boom" in row.last_error
    clock.advance(timedelta(seconds=1.9))
    assert await bus.deliver_due(recorder) == 0
    clock.advance(timedelta(seconds=0.1))
    assert await bus.deliver_due(recorder) == 1  # attempt 2 fails: next in 4 s
    clock.advance(timedelta(seconds=3.9))
    assert await bus.deliver_due(recorder) == 0
    clock.advance(timedelta(seconds=0.1))
    assert await bus.deliver_due(recorder) == 1  # attempt 3 succeeds

    assert recorder.deliveries[event.key] == 3
    assert _rows(engine)[event.key].acked_at == clock()
    assert bus.backlog() == 0


def _raise() -> None:
    raise RuntimeError("boom")


async def test_prune_forgets_old_acknowledged_events_and_keeps_the_rest(
    bus: EmbeddedBus, clock: Clock, engine: Engine
):
    old_done, old_failing, old_dead = make_event("done"), make_event("failing"), make_event("x")
    for event in (old_done, old_failing, old_dead):
        bus.publish(event)
    bus.max_attempts = 1
    fail = {old_failing.key, old_dead.key}
    recorder = Recorder(lambda e, delivery: _raise() if e.key in fail else None)
    await bus.deliver_due(recorder)  # done is acked, failing and dead are set aside (dead)
    with engine.begin() as conn:  # make "failing" merely waiting for a retry again
        conn.execute(
            sa.update(bus_events)
            .where(bus_events.c.event_key == old_failing.key)
            .values(dead_at=None, next_attempt_at=utc(START + timedelta(days=30)))
        )

    clock.advance(timedelta(days=7, seconds=1))
    recent_done = make_event("recent")
    bus.publish(recent_done)
    await bus.deliver_due(Recorder())

    assert bus.prune() == 1
    assert set(_rows(engine)) == {old_failing.key, old_dead.key, recent_done.key}
    assert bus.prune() == 0
    assert bus.publish(recent_done) is False  # still remembered while kept


async def test_prune_forgets_dead_events_30_days_after_they_died(
    bus: EmbeddedBus, clock: Clock, engine: Engine
):
    """A dead event stays for an admin to see and retry (the dashboard's event log) for
    ``DEAD_RETENTION``, then goes: its payload may be a viewer's chat line. One retried is
    not dead any more, and waits for its delivery."""
    dead, retried = make_event("dead"), make_event("retried")
    for event in (dead, retried):
        bus.publish(event)
    bus.max_attempts = 1
    await bus.deliver_due(Recorder(lambda e, delivery: _raise()))  # both set aside
    with engine.begin() as conn:  # as the event log's retry leaves it
        conn.execute(
            sa.update(bus_events)
            .where(bus_events.c.event_key == retried.key)
            .values(dead_at=None, next_attempt_at=utc(START + timedelta(days=60)))
        )

    clock.advance(DEAD_RETENTION - timedelta(seconds=1))
    assert bus.prune() == 0
    clock.advance(timedelta(seconds=2))
    assert bus.prune() == 1
    assert set(_rows(engine)) == {retried.key}
    assert timedelta(days=30) == DEAD_RETENTION  # as the privacy page says


async def test_an_undecodable_row_is_set_aside_without_stopping_delivery(
    bus: EmbeddedBus, engine: Engine
):
    bad_payloads = ["{not json", '{"kind": "no such kind"}', "[]", '{"kind": "followed"}']
    with engine.begin() as conn:
        for n, payload in enumerate(bad_payloads):
            conn.execute(
                sa.insert(bus_events).values(
                    event_key=f"bad-{n}", payload=payload, published_at=utc(START)
                )
            )
    good = make_event("good")
    bus.publish(good)
    recorder = Recorder()

    async with running(bus, recorder):
        await eventually(
            lambda: recorder.deliveries[good.key] == 1 and bus.backlog() == 0, within=30
        )

    rows = _rows(engine)
    for n in range(len(bad_payloads)):
        assert rows[f"bad-{n}"].dead_at is not None
        assert rows[f"bad-{n}"].last_error.startswith("undecodable")
    assert rows[good.key].acked_at is not None
    assert recorder.deliveries == {good.key: 1}


async def test_a_publish_from_another_thread_wakes_the_consumer_at_once(engine: Engine):
    bus = EmbeddedBus(engine, poll_seconds=30)
    recorder = Recorder()
    async with running(bus, recorder):
        await asyncio.sleep(0.05)  # the loop is now waiting up to 30 s
        event = make_event("wake up")
        await asyncio.to_thread(bus.publish, event)
        await eventually(lambda: recorder.deliveries[event.key] == 1, within=10)
    bus.close()


@pytest.fixture
def idle(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set once the consumer's loop waits to be woken (its first round is over). A fixed sleep
    stood for this, and under load the first commit could land while that round was still
    fetching, which then took it alone."""
    waiting = asyncio.Event()
    wait_any = embedded._wait_any

    async def noted(*args, **kwargs):  # type: ignore[no-untyped-def]
        waiting.set()
        return await wait_any(*args, **kwargs)

    monkeypatch.setattr(embedded, "_wait_any", noted)
    return waiting


class _Batches:
    """A handler like the dispatcher's: it takes every due event at once, and notes how many."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.keys: list[str] = []

    async def __call__(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: list[Event]) -> list[BaseException | None]:
        self.sizes.append(len(events))
        self.keys += [event.key for event in events]
        return [None] * len(events)


async def test_events_committed_just_after_a_wake_up_are_handled_in_its_round(
    engine: Engine, idle: asyncio.Event
):
    # Each commit wakes the consumer; a round costs the same for one event as for many, so the
    # consumer lets the next commits' events gather before it fetches.
    bus = EmbeddedBus(engine, poll_seconds=30, gather_seconds=2)
    handler = _Batches()
    events = [make_event(f"chat {n}") for n in range(5)]

    def publish_all() -> None:
        for event in events:  # five commits 50 ms apart, each waking the consumer
            bus.publish(event)
            time.sleep(0.05)

    async with running(bus, handler):
        await asyncio.wait_for(idle.wait(), timeout=30)  # the loop waits to be woken
        await asyncio.to_thread(publish_all)
        await eventually(lambda: len(handler.keys) == 5, within=20)
    bus.close()

    assert handler.sizes == [5]
    assert handler.keys == [event.key for event in events]


async def test_a_stop_during_the_gathering_ends_the_consumer_at_once(
    engine: Engine, idle: asyncio.Event
):
    bus = EmbeddedBus(engine, poll_seconds=30, gather_seconds=60)
    handler = _Batches()
    async with running(bus, handler) as task:  # waits at most 15 s for run() to return
        await asyncio.wait_for(idle.wait(), timeout=30)  # the loop waits to be woken
        await asyncio.to_thread(bus.publish, make_event("one"))
        await asyncio.sleep(0.1)  # woken, now gathering for up to a minute
    assert task.done()
    assert handler.keys == []  # not handled yet: still queued for the next start
    assert bus.backlog() == 1
    bus.close()


async def test_the_consumer_rides_out_a_database_error_with_one_warning(
    bus: EmbeddedBus, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    caplog.set_level(logging.INFO, logger="core.bus")
    event = make_event()
    bus.publish(event)
    real_fetch, failures = bus._fetch_due, [2]

    def flaky_fetch():
        if failures[0]:
            failures[0] -= 1
            raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))
        return real_fetch()

    monkeypatch.setattr(bus, "_fetch_due", flaky_fetch)
    recorder = Recorder()
    async with running(bus, recorder) as task:
        await eventually(lambda: recorder.deliveries[event.key] == 1, within=30)
        assert not task.done()

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "database is locked" in warnings[0]
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_an_unusable_database_raises_bus_unavailable(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}")
    bus = EmbeddedBus(engine)
    try:
        with pytest.raises(BusUnavailable):
            bus.publish(make_event())
        with pytest.raises(BusUnavailable):
            bus.ping()
    finally:
        bus.close()
        engine.dispose()


async def test_an_event_waiting_for_discord_backs_off_to_five_minutes_without_attempts(
    bus: EmbeddedBus, clock: Clock, engine: Engine
):
    event = make_event()
    bus.publish(event)
    recorder = Recorder(lambda e, delivery: _not_connected() if delivery <= 9 else None)

    delays = []
    for _ in range(9):
        assert await bus.deliver_due(recorder) == 1
        row = _rows(engine)[event.key]
        assert (row.attempts, row.dead_at) == (0, None)
        delays.append((row.next_attempt_at - clock()).total_seconds())
        clock.advance(timedelta(seconds=delays[-1] - 0.5))
        assert await bus.deliver_due(recorder) == 0  # not before it is due
        clock.advance(timedelta(seconds=0.5))
    assert await bus.deliver_due(recorder) == 1  # Discord is back

    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert _rows(engine)[event.key].acked_at == clock()
    assert recorder.deliveries[event.key] == 10


def _not_connected() -> None:
    raise DiscordUnavailable("the Discord bot is not connected yet")
