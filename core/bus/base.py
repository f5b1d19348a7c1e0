"""What every bus offers: durable publish, at-least-once delivery to one consumer loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from core.events import Event

Handler = Callable[[Event], Awaitable[None]]


class BusUnavailable(Exception):
    """The bus could not take the event; the caller should answer "try again later"."""


class EventBus(Protocol):
    name: str

    def publish(self, event: Event) -> bool:
        """Queue ``event`` durably. False when an event with the same key was already queued.

        Thread-safe and synchronous (the web side calls it from its own threads).
        Raises :class:`BusUnavailable` when the event could not be stored.
        """
        ...

    async def run(self, handle: Handler, stop: asyncio.Event) -> None:
        """Deliver events to ``handle`` until ``stop`` is set.

        An event is acknowledged only after ``handle`` returns; one that raises is delivered
        again later, and one that keeps failing is set aside as dead and logged.
        """
        ...

    def backlog(self) -> int:
        """Events queued and not yet acknowledged."""
        ...

    def ping(self) -> None:
        """Raise :class:`BusUnavailable` when the bus cannot be reached."""
        ...

    def close(self) -> None: ...
