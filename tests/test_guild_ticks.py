"""Each guild's tick waits for its own presence from before the instant, and no one else's: a
guild whose events are stuck never holds another guild's tick (issue 26, barriers)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from core.bus.embedded import EmbeddedBus
from core.events import Platform
from core.guild_ticks import GuildTicks
from tests.bus import running
from tests.support.clock import Clock
from tests.support.events import chat_message
from tests.support.waiting import eventually

NOW = datetime(2030, 6, 1, 20, 0, 30, tzinfo=UTC)
INSTANT = datetime(2030, 6, 1, 20, 1, tzinfo=UTC)
STUCK, FREE, QUIET = 1, 2, 3
CHANNELS = {"stuck-channel": [STUCK], "free-channel": [FREE]}


class Ticks:
    def __init__(self) -> None:
        self.done: list[tuple[int, datetime]] = []

    def __call__(self, guild_ids: list[int], at: datetime) -> None:
        self.done.extend((guild_id, at) for guild_id in guild_ids)

    def guilds(self) -> list[int]:
        return [guild for guild, _ in self.done]


def route(platform: Platform, broadcaster: str, via: int | None) -> list[int]:
    return CHANNELS.get(broadcaster, [])


@pytest.fixture
def bus(sqlite_engine: Engine) -> EmbeddedBus:
    made = EmbeddedBus(sqlite_engine, poll_seconds=0.02, clock=Clock(NOW))
    yield made
    made.close()


# The limit is long where a test expects it not to be reached (a bound far below it says so),
# and 1 s where it is: the first round (two thread hops and a query) must come before it even on
# a loaded machine, or every guild ticks at once, stuck or not.
def ticks_for(bus: EmbeddedBus, ticks: Ticks, limit_seconds: float = 30.0) -> GuildTicks:
    return GuildTicks(bus, lambda: [STUCK, FREE, QUIET], route, ticks, limit_seconds=limit_seconds)


def chat_in(channel: str, text: str = "hi"):  # type: ignore[no-untyped-def]
    return chat_message(text, broadcaster=channel, at=NOW)


async def test_guilds_without_queued_presence_tick_at_once_and_the_waiting_one_after_its_events(
    bus: EmbeddedBus,
):
    bus.publish(chat_in("stuck-channel"))  # queued before the instant, not handled yet
    ticks = Ticks()
    run = asyncio.create_task(ticks_for(bus, ticks).run(INSTANT, asyncio.Event()))

    await eventually(lambda: sorted(ticks.guilds()) == [FREE, QUIET], within=10)
    assert STUCK not in ticks.guilds()

    handled: list[str] = []

    async def handle(event) -> None:  # type: ignore[no-untyped-def]
        handled.append(event.key)

    async with running(bus, handle):
        await asyncio.wait_for(run, timeout=10)
    assert handled, "the stuck guild ticked only after its chat was handled"
    assert ticks.done[-1] == (STUCK, INSTANT)
    assert len(ticks.done) == 3


async def test_a_guild_whose_events_never_get_handled_is_ticked_after_the_limit(
    bus: EmbeddedBus, caplog: pytest.LogCaptureFixture
):
    bus.publish(chat_in("stuck-channel"))
    ticks = Ticks()

    await ticks_for(bus, ticks, limit_seconds=1.0).run(INSTANT, asyncio.Event())

    assert ticks.guilds()[:2] == [FREE, QUIET]
    assert ticks.guilds()[2:] == [STUCK]
    assert "events still queued for 1 guild(s)" in caplog.text


async def test_events_that_are_not_presence_or_for_no_guild_hold_no_tick(bus: EmbeddedBus):
    bus.publish(chat_in("nobody-follows-this"))
    ticks = Ticks()

    await asyncio.wait_for(ticks_for(bus, ticks).run(INSTANT, asyncio.Event()), timeout=10)

    assert sorted(ticks.guilds()) == [STUCK, FREE, QUIET]


async def test_when_the_bus_cannot_answer_every_guild_waits_until_the_limit(
    bus: EmbeddedBus, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)

    def broken(before, limit):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database is away")

    bus.unhandled_before = broken  # type: ignore[method-assign]
    ticks = Ticks()
    run = asyncio.create_task(
        ticks_for(bus, ticks, limit_seconds=1.0).run(INSTANT, asyncio.Event())
    )
    await asyncio.sleep(0.1)
    assert ticks.done == []

    await asyncio.wait_for(run, timeout=10)
    assert sorted(ticks.guilds()) == [STUCK, FREE, QUIET]
    assert "every guild" in caplog.text


async def test_a_stop_leaves_the_waiting_guild_for_the_next_process(bus: EmbeddedBus):
    bus.publish(chat_in("stuck-channel"))
    ticks = Ticks()
    stop = asyncio.Event()
    run = asyncio.create_task(ticks_for(bus, ticks).run(INSTANT, stop))
    await eventually(lambda: len(ticks.done) == 2, within=10)

    stop.set()
    await asyncio.wait_for(run, timeout=10)

    assert STUCK not in ticks.guilds()


async def test_a_failing_round_of_ticks_is_logged_and_the_run_ends(
    bus: EmbeddedBus, caplog: pytest.LogCaptureFixture
):
    def tick(guild_ids: list[int], at: datetime) -> None:
        raise RuntimeError("the database is away")

    guild_ticks = GuildTicks(bus, lambda: [STUCK, FREE, QUIET], route, tick, limit_seconds=1)
    await asyncio.wait_for(guild_ticks.run(INSTANT, asyncio.Event()), timeout=10)

    assert "the watchtime ticks of 3 guild(s) failed" in caplog.text
