"""What every bus offers: durable publish, at-least-once delivery to one consumer loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from core.events import Event

Handler = Callable[[Event], Awaitable[None]]


class BusUnavailable(Exception):
    """The bus could not take the event; the caller should answer "try again later"."""


class EventRefused(Exception):
    """The bus can never store this event (the event's fault: a value its store refuses).

    Unlike :class:`BusUnavailable`, retrying cannot help, so the caller refuses the event for
    good (a webhook answers 400) instead of asking the sender to retry.
    """


def is_event_fault(exc: BaseException) -> bool:
    """Whether a storage error was caused by the values written rather than by the store.

    A value too long for its column or of the wrong form (``DataError``), text that cannot be
    encoded (a lone surrogate: ``UnicodeEncodeError``, wrapped or not) or that the driver refuses
    before sending it (PostgreSQL and a NUL: ``ValueError``). A lost connection, a locked or
    missing table and every other failure are the store's, and worth a retry.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UnicodeError | ValueError):
            return True
        if type(current).__name__ == "DataError":  # sqlalchemy.exc, psycopg, redis alike
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


class EventBus(Protocol):
    name: str

    def publish(self, event: Event) -> bool:
        """Queue ``event`` durably. False when an event with the same key was already queued.

        Thread-safe and synchronous (the web side calls it from its own threads).
        Raises :class:`BusUnavailable` when the event could not be stored for now, and
        :class:`EventRefused` when it never can be (nothing is stored then either).
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
