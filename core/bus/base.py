"""What every bus offers: durable publish, at-least-once delivery to one consumer loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from core.events import Event, event_from_dict

Handler = Callable[[Event], Awaitable[None]]


class BusUnavailable(Exception):
    """The bus could not take the event; the caller should answer "try again later"."""


class NotReady(Exception):
    """A handler cannot do its work yet because something it needs is not ready (the Discord
    bot is still connecting). Raise it, or a subclass, from a handler.

    Both buses then deliver the event again after :func:`not_ready_delay`, growing from 5 s to
    5 minutes while it lasts, and do not count it as a failure: an event is set aside as dead
    only after repeated real failures, however long it had to wait.
    """


# How long a dead event (set aside after repeated failures) stays for an admin to see and retry
# in the dashboard's event log, on either bus; then it is deleted: its payload may be a viewer's
# chat line.
DEAD_RETENTION = timedelta(days=30)
NOT_READY_FIRST_SECONDS = 5.0
NOT_READY_MAX_SECONDS = 300.0


def not_ready_delay(waits: int) -> float:
    """Seconds before the next delivery after the ``waits``-th not-ready answer in a row."""
    return min(NOT_READY_FIRST_SECONDS * 2 ** max(waits - 1, 0), NOT_READY_MAX_SECONDS)


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


def decoded_events(payloads: list[str]) -> list[Event]:
    """The events of stored JSON payloads; one that cannot be decoded is left out."""
    events = []
    for payload in payloads:
        with contextlib.suppress(Exception):  # the consumer sets it aside when it comes to it
            events.append(event_from_dict(json.loads(payload)))
    return events


def stamped_before(events: list[Event], before: datetime) -> list[Event]:
    """The events whose ``occurred_at`` is before ``before`` (``unhandled_before``'s rule)."""
    return [event for event in events if event.occurred_at < before]


def is_outage(exc: BaseException) -> bool:
    """Whether a handler failed because a store it needs is away (the database or Redis did
    not answer), not because of the event: worth retrying within seconds, and not a failure of
    the event's own."""
    import sqlalchemy.exc

    from core.storage.db import DatabaseUnavailable

    outages = (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.DisconnectionError,
        sqlalchemy.exc.TimeoutError,
        DatabaseUnavailable,
        BusUnavailable,
        ConnectionError,
    )
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, outages):
            return True
        current = current.__cause__ or current.__context__
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
        again later, and one that keeps failing is set aside as dead and logged. One whose
        handler raises :class:`NotReady` waits (see there) without spending its failures.
        """
        ...

    def backlog(self) -> int:
        """Events queued and not yet acknowledged."""
        ...

    def oldest_unhandled(self) -> datetime | None:
        """When the oldest event not yet acknowledged was queued (UTC); None when none waits."""
        ...

    def unhandled_before(self, before: datetime, limit: int) -> list[Event] | None:
        """The events *stamped* before ``before`` (their ``occurred_at``) that are queued and
        not yet acknowledged (nor set aside), whenever they were queued; None when the bus
        holds more than ``limit`` unhandled events: too many to say whom they are for. An entry
        that cannot be decoded is left out (the consumer sets it aside).

        The watchtime tick for an instant waits for these (``core/guild_ticks.py``): presence
        counts a chat in the first tick whose instant is strictly after its stamp, so a chat
        stamped before the instant but queued after it is waited for too, once queued."""
        ...

    def ping(self) -> None:
        """Raise :class:`BusUnavailable` when the bus cannot be reached."""
        ...

    def close(self) -> None: ...
