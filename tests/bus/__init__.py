"""Helpers shared by the bus tests: events, a recording handler, a runner."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from core.bus.base import EventBus, Handler
from core.events import ChatMessageSent, Event
from tests.support.events import chat_message

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def make_event(content: str = "hello", *, event_id: str | None = None) -> ChatMessageSent:
    return chat_message(
        content,
        broadcaster="broadcaster-1",
        user_id="viewer-1",
        username="alice",
        at=START,
        event_id=event_id or None,
    )


class Recorder:
    """A handler that records every delivery, and can be told to fail for some events.

    ``fail(event, attempt)`` is called with the 1-based delivery number of that event and raises
    whatever it likes (or nothing).
    """

    def __init__(self, fail: Callable[[Event, int], None] | None = None) -> None:
        self.order: list[str] = []
        self.deliveries: Counter[str] = Counter()
        self.fail = fail

    async def __call__(self, event: Event) -> None:
        self.deliveries[event.key] += 1
        self.order.append(event.key)
        if self.fail is not None:
            self.fail(event, self.deliveries[event.key])

    def handled_once(self) -> list[str]:
        """Keys in first-delivery order."""
        return list(dict.fromkeys(self.order))


@contextlib.asynccontextmanager
async def running(bus: EventBus, handle: Handler) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``bus`` in a task; on exit set ``stop`` and wait for ``run`` to return (15 s at
    most: longer is a hang)."""
    stop = asyncio.Event()
    task = asyncio.create_task(bus.run(handle, stop))
    try:
        yield task
    finally:
        stop.set()
        if not task.cancelled():
            await asyncio.wait_for(task, timeout=15)


async def kill(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` (a crash from the bus's point of view) and wait until it is gone."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


SOON = timedelta(minutes=10)
