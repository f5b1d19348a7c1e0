"""What the platforms' socket sources share (Kick's Pusher, Twitch's EventSub WebSocket): when a
socket is wanted at all, how long webhooks count as delivering a type, waiting unless stopped,
the reconnect backoff, and the queue between a socket's reader and the bus (:class:`Publisher`).

What differs stays with each socket: the protocol, its keepalive, when a connection counts as
stable, which close ends the loop for good, and which events a socket leaves to webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from core.events import Event

T = TypeVar("T")

# How many events a socket may be ahead of publishing before it drops new ones.
QUEUE_SIZE = 10_000
# How many recently published keys a socket remembers, so a repeat is not published again.
RECENT_KEYS = 4096
# How long a stopping socket keeps publishing events it already received.
DRAIN_SECONDS = 2.0

# Webhooks of a type count as delivering while one arrived this recently; and a stored
# subscription counts while any webhook for the broadcaster arrived this recently (gifts are
# rare, chat and live status are not). Long enough that a quiet half hour in chat does not
# hand gifts to Pusher while their webhooks still work (that would count them twice).
DELIVERY_WINDOW = timedelta(minutes=30)


def is_public_https(url: str | None) -> bool:
    if not url or not url.startswith("https://"):
        return False
    host = url.removeprefix("https://").split("/")[0].split(":")[0]
    return host not in {"localhost", "127.0.0.1", "::1"} and not host.endswith(".local")


async def unless_stopped(
    awaitable: Coroutine[Any, Any, T] | Awaitable[T], stop: asyncio.Event
) -> T | None:
    """The awaitable's result, or None as soon as ``stop`` is set (the awaitable is cancelled)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopper):
            pending.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
    if stop.is_set() or task.cancelled():
        return None
    return task.result()


def full_jitter(rng: Callable[[], float], attempt: int, *, base: float, most: float) -> float:
    """The wait before reconnect number ``attempt`` (0 first): uniform in
    [0, min(most, base * 2**attempt)), so many clients do not come back at once."""
    ceiling = min(most, base * 2 ** min(attempt, 32))
    return rng() * ceiling


class Publisher:
    """Hands the events a socket read to ``publish``, one at a time, from a bounded queue.

    ``publish(event)`` may be synchronous (it is then run in a thread) or a coroutine function.
    A key published lately (the last ``RECENT_KEYS``) is not handed on again; a failing publish
    is logged and the event dropped (the socket's events are a second source: webhooks and the
    bus's dedupe cover the rest). ``label`` starts the log lines ("Kick Pusher"), written to the
    socket's own ``logger``.
    """

    def __init__(
        self, publish: Callable[[Event], object], *, label: str, logger: logging.Logger
    ) -> None:
        self._publish = publish
        self._is_async_publish = inspect.iscoroutinefunction(publish) or (
            inspect.iscoroutinefunction(type(publish).__call__)
        )
        self._label = label
        self._log = logger
        self._recent_keys: OrderedDict[str, None] = OrderedDict()

    async def publish_from(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                if event.key in self._recent_keys:
                    continue
                await self._publish_one(event)
                self._recent_keys[event.key] = None
                if len(self._recent_keys) > RECENT_KEYS:
                    self._recent_keys.popitem(last=False)
            except Exception:
                self._log.exception("%s: publishing %s failed", self._label, event.key)
            finally:
                queue.task_done()

    async def _publish_one(self, event: Event) -> None:
        if self._is_async_publish:
            result = self._publish(event)
        else:
            result = await asyncio.to_thread(self._publish, event)
        if inspect.isawaitable(result):
            await result


async def drain(
    queue: asyncio.Queue[Event],
    publisher: asyncio.Task[None],
    *,
    label: str,
    logger: logging.Logger,
) -> None:
    """Let ``publisher`` publish what is queued for up to ``DRAIN_SECONDS``, then stop it."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            await queue.join()
    if not queue.empty():
        logger.warning("%s: stopped with %d events unpublished", label, queue.qsize())
    publisher.cancel()
    await asyncio.gather(publisher, return_exceptions=True)
