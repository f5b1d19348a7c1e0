"""What the platforms' socket sources share (Kick's Pusher, Twitch's EventSub WebSocket): when a
socket is wanted at all, how long webhooks count as delivering a type, and waiting unless stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

T = TypeVar("T")

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
