"""Lanes: each guild's events in order, different guilds' at the same time (bounded), so one
guild's slow handler holds only its own events (issue 26, item 3)."""

from __future__ import annotations

import asyncio

from core.bus.dispatch import Dispatcher
from core.events import ChatMessageSent, Platform
from core.metrics import Metrics
from tests.support.events import chat_message
from tests.support.waiting import eventually

GUILD_OF = {f"channel-{n}": n for n in range(1, 6)}


def route(platform: Platform, broadcaster: str, via: int | None) -> list[int]:
    return [GUILD_OF[broadcaster]]


def chat(guild: int, text: str) -> ChatMessageSent:
    return chat_message(text, broadcaster=f"channel-{guild}")


class Handler:
    """Records (guild, text) as each event is handled; guilds in ``slow`` wait for ``gate``."""

    def __init__(self, *slow: int) -> None:
        self.slow = set(slow)
        self.gate = asyncio.Event()
        self.done: list[tuple[int, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def handle(self, guild_id: int, event: ChatMessageSent) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if guild_id in self.slow:
                await self.gate.wait()
            self.done.append((guild_id, event.content))
        finally:
            self.in_flight -= 1


async def test_a_slow_guild_holds_only_its_own_events_and_keeps_their_order():
    handler = Handler(1)
    dispatcher = Dispatcher({ChatMessageSent: [handler.handle]}, route, Metrics())
    events = [chat(1, "a1"), chat(2, "b1"), chat(1, "a2"), chat(2, "b2"), chat(3, "c1")]

    batch = asyncio.create_task(dispatcher.handle_many(events))
    await eventually(lambda: len(handler.done) == 3, within=30)
    assert handler.done == [(2, "b1"), (2, "b2"), (3, "c1")]  # guild 1 still waits

    handler.gate.set()
    outcomes = await asyncio.wait_for(batch, timeout=30)

    assert outcomes == [None] * 5
    assert [text for guild, text in handler.done if guild == 1] == ["a1", "a2"]


async def test_at_most_lanes_guilds_are_handled_at_once():
    handler = Handler(1, 2, 3, 4, 5)
    dispatcher = Dispatcher({ChatMessageSent: [handler.handle]}, route, Metrics(), lanes=2)

    batch = asyncio.create_task(dispatcher.handle_many([chat(n, "hi") for n in range(1, 6)]))
    await eventually(lambda: handler.in_flight == 2, within=30)
    await asyncio.sleep(0.05)
    assert handler.in_flight == 2

    handler.gate.set()
    await asyncio.wait_for(batch, timeout=30)
    assert handler.most_in_flight == 2
    assert sorted(guild for guild, _ in handler.done) == [1, 2, 3, 4, 5]


async def test_a_failure_in_one_guild_is_that_events_alone():
    async def handler(guild_id: int, event: ChatMessageSent) -> None:
        if guild_id == 2:
            raise RuntimeError("boom")

    dispatcher = Dispatcher({ChatMessageSent: [handler]}, route, Metrics())
    outcomes = await dispatcher.handle_many([chat(1, "x"), chat(2, "y"), chat(3, "z")])

    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], RuntimeError)
