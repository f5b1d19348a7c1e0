"""What the platforms' socket sources share (Kick's Pusher, Twitch's EventSub WebSocket): when a
socket is wanted at all, how long webhooks count as delivering a type, waiting unless stopped,
the supervisors' upkeep rounds (:func:`repeat_until_stopped`), opening a socket, the reconnect
loop with its backoff (:class:`ReconnectingSocket`), and the queue between a socket's reader and
the bus (:class:`Publisher`).

What differs stays with each socket: the protocol, its keepalive, how long a connection has
been up, which close ends the loop for good, and which events a socket leaves to webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

import aiohttp

from core.bus.base import BusUnavailable, EventRefused
from core.events import Event

T = TypeVar("T")

# How many events a socket may be ahead of publishing before it drops new ones.
QUEUE_SIZE = 10_000
# How many recently published keys a socket remembers, so a repeat is not published again.
RECENT_KEYS = 4096
# How long a stopping socket keeps publishing events it already received.
DRAIN_SECONDS = 2.0
# The waits between tries of an event the bus could not take for now (BusUnavailable): doubling
# from the first to the most, then the most until the bus takes it.
PUBLISH_RETRY_FIRST_SECONDS = 0.5
PUBLISH_RETRY_MOST_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 15.0
# A connection that lived this long resets the backoff; one that dies sooner keeps growing it,
# so a server that accepts and then drops us at once is not hammered.
STABLE_CONNECTION_SECONDS = 30.0
# A server that asked us not to reconnect (Pusher's 4000-4099: a bad app key, an app disabled)
# is tried again after this wait, doubled each time up to the most: the cause may be fixed on
# its side, and a listener deaf until someone restarts the bot is worse than a rare try.
REFUSED_WAIT_SECONDS = 300.0
REFUSED_WAIT_MAX_SECONDS = 3600.0

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


async def repeat_until_stopped(
    stop: asyncio.Event,
    steps: Sequence[tuple[Callable[[], Awaitable[object]], str]],
    *,
    every_seconds: float,
    logger: logging.Logger,
) -> None:
    """Each ``(step, failure)`` in turn, then a wait of ``every_seconds``, until ``stop`` is set:
    a supervisor's upkeep of its sockets. A step that raises is logged to ``logger`` with its
    ``failure`` words and tried again the next round."""
    while not stop.is_set():
        for step, failure in steps:
            try:
                await step()
            except Exception:
                logger.exception(failure)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)


def full_jitter(rng: Callable[[], float], attempt: int, *, base: float, most: float) -> float:
    """The wait before reconnect number ``attempt`` (0 first): uniform in
    [0, min(most, base * 2**attempt)), so many clients do not come back at once."""
    ceiling = min(most, base * 2 ** min(attempt, 32))
    return rng() * ceiling


class Publisher:
    """Hands the events a socket read to ``publish``, one at a time and in order, from a
    bounded queue.

    ``publish(event)`` may be synchronous (it is then run in a thread) or a coroutine function.
    A key published lately (the last ``RECENT_KEYS``) is not handed on again. When the bus
    cannot take an event for now (:class:`~core.bus.base.BusUnavailable`: Redis or the
    database away for a moment) the event stays first and is tried again, after waits doubling
    from ``PUBLISH_RETRY_FIRST_SECONDS`` to ``PUBLISH_RETRY_MOST_SECONDS``, until the bus takes
    it: a socket may be the only source of its events (no webhook redelivers them), and trying
    again is safe because the bus dedupes by ``Event.key``. Meanwhile the socket goes on reading
    into the queue; an outage that outlasts the queue (``QUEUE_SIZE`` events) drops what arrives
    once it is full (logged, see :meth:`ReconnectingSocket._enqueue`), and the queued events are
    published in order when the bus is back. An event the bus refuses for good
    (:class:`~core.bus.base.EventRefused`), or whose publish fails otherwise, is logged and
    dropped; so is what is still queued when the socket stops (after ``DRAIN_SECONDS``).
    ``label`` starts the log lines ("Kick Pusher"), written to the socket's own ``logger``;
    ``sleep`` makes the waits between tries.
    """

    def __init__(
        self,
        publish: Callable[[Event], object],
        *,
        label: str,
        logger: logging.Logger,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._publish = publish
        self._is_async_publish = inspect.iscoroutinefunction(publish) or (
            inspect.iscoroutinefunction(type(publish).__call__)
        )
        self._label = label
        self._log = logger
        self._sleep = sleep
        self._recent_keys: OrderedDict[str, None] = OrderedDict()

    async def publish_from(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                if event.key not in self._recent_keys:
                    await self._publish_until_taken(event)
            finally:
                queue.task_done()

    async def _publish_until_taken(self, event: Event) -> None:
        """Publish ``event``, trying again while the bus is unavailable (see the class)."""
        tries = 0
        while True:
            try:
                await self._publish_one(event)
            except BusUnavailable as exc:
                delay = min(
                    PUBLISH_RETRY_FIRST_SECONDS * 2 ** min(tries, 32), PUBLISH_RETRY_MOST_SECONDS
                )
                tries += 1
                self._log.log(
                    logging.WARNING if tries == 1 else logging.DEBUG,
                    "%s: the bus cannot take %s for now (%s); trying again in %.1f s",
                    self._label,
                    event.key,
                    exc,
                    delay,
                )
                await self._sleep(delay)
                continue
            except EventRefused as exc:
                self._log.error("%s: the bus refused %s for good: %s", self._label, event.key, exc)
                return
            except Exception:
                self._log.exception("%s: publishing %s failed", self._label, event.key)
                return
            if tries:
                self._log.info("%s: published %s after %d tries", self._label, event.key, tries + 1)
            self._recent_keys[event.key] = None
            if len(self._recent_keys) > RECENT_KEYS:
                self._recent_keys.popitem(last=False)
            return

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


@dataclass(frozen=True)
class Ended:
    """Why a connection ended: ``is_refused`` when the server asked us not to reconnect (we
    try again only after a long wait), ``min_wait`` the least wait (seconds) it asked for
    before reconnecting."""

    reason: str
    is_refused: bool = False
    min_wait: float = 0.0


async def open_socket(
    session: aiohttp.ClientSession, url: str, *, max_msg_size: int = 4 * 1024 * 1024
) -> aiohttp.ClientWebSocketResponse | Ended:
    """A WebSocket to ``url`` (aiohttp answering pings), or why none opened within
    ``CONNECT_TIMEOUT_SECONDS``. A message over ``max_msg_size`` bytes (aiohttp's default,
    4 MiB, unless given) makes aiohttp close the connection with 1009."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            return await session.ws_connect(
                url,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                max_msg_size=max_msg_size,
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Ended(f"could not connect ({type(exc).__name__}: {exc})")


class SocketState(Protocol):
    status: str


StateT = TypeVar("StateT", bound=SocketState)


class ReconnectingSocket(Generic[StateT]):
    """A socket source's life: connect and serve (the platform's :meth:`_connect_and_serve`)
    until the connection ends, back off, and again, until stopped or refused for good; the
    events it reads go through a :class:`Publisher`. ``state`` (a frozen dataclass with at least
    ``status``, ``reconnects``, ``last_error`` and ``last_event_at``) says where it is.

    ``publish(event)`` may be synchronous (it is then run in a thread) or a coroutine function;
    one the bus cannot take for now is tried again (:class:`Publisher`, its waits made with
    ``sleep`` too). The wait before reconnect ``n`` is :func:`full_jitter` of ``backoff_base`` up to
    ``backoff_max`` seconds, ``rng`` returning a float in [0, 1); a connection up for
    ``STABLE_CONNECTION_SECONDS`` starts the count again. A refusal (the server asked not to
    reconnect) makes the status "refused" and waits ``refused_wait`` seconds, doubled at each
    refusal in a row up to ``refused_wait_max``. ``session`` is closed only when made
    here. ``label`` starts the log lines ("Kick Pusher"), written to the platform's ``logger``.
    """

    def __init__(
        self,
        state: StateT,
        *,
        publish: Callable[[Event], object],
        label: str,
        logger: logging.Logger,
        session: aiohttp.ClientSession | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        refused_wait: float = REFUSED_WAIT_SECONDS,
        refused_wait_max: float = REFUSED_WAIT_MAX_SECONDS,
    ) -> None:
        self.label = label
        self._refused_wait = refused_wait
        self._refused_wait_max = refused_wait_max
        self._log = logger
        self._publisher = Publisher(publish, label=label, logger=logger, sleep=sleep)
        self._session = session
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._rng = rng
        self._state = state

    @property
    def state(self) -> StateT:
        return self._state

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected and publish until ``stop`` is set. Never raises for network
        trouble."""
        session = self._session or aiohttp.ClientSession()
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        publisher = asyncio.create_task(self._publisher.publish_from(queue))
        loop = asyncio.get_running_loop()
        attempt = refusals = 0
        attempts_made = 0
        try:
            while not stop.is_set():
                self._forget_connection()
                self._update(status="connecting", reconnects=attempts_made)
                attempts_made += 1
                started = loop.time()
                ended = await unless_stopped(self._one_connection(session, queue), stop)
                if ended is None:
                    break
                if self._connected_for(started) >= STABLE_CONNECTION_SECONDS:
                    attempt = refusals = 0
                self._forget_connection()
                if ended.is_refused:
                    delay = min(self._refused_wait * 2 ** min(refusals, 32), self._refused_wait_max)
                    refusals += 1
                    self._update(status="refused", last_error=ended.reason)
                    self._log.error(
                        "%s: the server refused the connection and asked not to reconnect: %s; "
                        "trying again in %.0f min",
                        self.label,
                        ended.reason,
                        delay / 60,
                    )
                else:
                    delay = max(self._backoff(attempt), ended.min_wait)
                    attempt += 1
                    self._update(status="backing_off", last_error=ended.reason)
                    self._log.warning(
                        "%s: %s; reconnecting in %.1f s", self.label, ended.reason, delay
                    )
                await unless_stopped(self._sleep(delay), stop)
        finally:
            self._forget_connection()
            self._update(status="stopped")
            await drain(queue, publisher, label=self.label, logger=self._log)
            if self._session is None:
                await session.close()

    async def _one_connection(
        self, session: aiohttp.ClientSession, queue: asyncio.Queue[Event]
    ) -> Ended:
        try:
            return await self._connect_and_serve(session, queue)
        except (aiohttp.ClientError, OSError) as exc:
            return Ended(f"connection lost ({type(exc).__name__}: {exc})")
        except Exception as exc:
            # A bug in frame handling must not end the socket; reconnecting starts clean.
            self._log.exception("%s: unexpected error while reading frames", self.label)
            return Ended(f"unexpected error ({type(exc).__name__}: {exc})")

    async def _connect_and_serve(
        self, session: aiohttp.ClientSession, queue: asyncio.Queue[Event]
    ) -> Ended:
        """One connection, from opening it to why it ended; events read go on ``queue``."""
        raise NotImplementedError

    def _connected_for(self, started: float) -> float:
        """Seconds the connection that just ended was up (``started``: the loop's time when
        connecting began)."""
        raise NotImplementedError

    def _forget_connection(self) -> None:
        """Drop what belonged to the last connection (before connecting, and once it ended)."""

    def _backoff(self, attempt: int) -> float:
        return full_jitter(self._rng, attempt, base=self._backoff_base, most=self._backoff_max)

    def _update(self, **changes: Any) -> None:
        self._state = dataclasses.replace(self._state, **changes)

    def _enqueue(self, event: Event, queue: asyncio.Queue[Event]) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            self._log.warning(
                "%s: publishing is %d events behind; dropped %s", self.label, QUEUE_SIZE, event.key
            )
