"""Partners' rate limits as sliding windows per key, and the in-memory window.

A key names one limit of one partner for one subject (``twitch:vip:add:<broadcaster_id>``: 10
per 10 s). A request takes a slot of its key's window just before it is sent and re-stamps it
when its answer (or its failure) lands, so every resend counts, and a slow request counts from
when it landed: a window counts a request from the moment it was sent until ``seconds`` after
it landed. Nothing is ever dropped: a request waits for room.

:class:`Windows` is what a client is given; :class:`MemoryWindows` keeps the windows in this
process (the embedded deployment runs one bot process), ``redis_windows.RedisWindows`` in Redis
for every process at once.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

MAX_IDLE_KEYS = 10_000  # past this many keys, the idle ones are forgotten


@dataclass(frozen=True)
class Limit:
    """At most ``requests`` in any ``seconds``."""

    requests: int
    seconds: float


@dataclass(frozen=True)
class Taken:
    """A slot held by one request: ``member`` is its name in the key's window; ``is_shared``
    when Redis holds it (else this process's memory)."""

    key: str
    limit: Limit
    member: str
    is_shared: bool


class Windows(ABC):
    """Sliding windows per key. Callers in one process (one event loop) take a key's slots in
    the order they asked; a caller waits as long as the window needs (wrap it in a timeout)."""

    def __init__(self, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.sleep = sleep
        # Per loop (the web side may run clients on a loop of its own; a lock serves one loop).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]]
        self._queues = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def slot(self, key: str, limit: Limit) -> AsyncIterator[None]:
        """Wait for room in ``key``'s window and take a slot; send the request inside the
        block; the slot is re-stamped when the block ends, however it ends."""
        taken = await self.take(key, limit)
        try:
            yield
        finally:
            await self.restamp(taken)

    async def take(self, key: str, limit: Limit) -> Taken:
        member = secrets.token_hex(8)
        # One waiter per key and loop asks the store; the others queue behind it, first come
        # first served.
        queues = self._queues.setdefault(asyncio.get_running_loop(), {})
        queue = queues.setdefault(key, asyncio.Lock())
        async with queue:
            while True:
                taken, wait = await self._try_take(key, limit, member)
                if taken is not None:
                    return taken
                await self.sleep(max(wait, 0.001))

    async def try_take(self, key: str, limit: Limit) -> Taken | None:
        """A slot of ``key``'s window if it has room now, else None (nothing waits): a
        cooldown is a window of one (``Limit(1, seconds)``)."""
        taken, _wait = await self._try_take(key, limit, secrets.token_hex(8))
        return taken

    @abstractmethod
    async def give_back(self, taken: Taken) -> None:
        """Take back a slot whose request was never sent: it counts no more."""

    @abstractmethod
    async def _try_take(self, key: str, limit: Limit, member: str) -> tuple[Taken | None, float]:
        """Take a slot named ``member`` if the window has room: (the slot, 0); else (None,
        seconds until the oldest slot leaves the window)."""

    @abstractmethod
    async def restamp(self, taken: Taken) -> None:
        """The request landed now: its slot counts from now (added again if it had expired)."""


class MemoryWindows(Windows):
    """The windows in this process's memory, on ``clock`` (seconds, monotonic). Thread-safe:
    clients on different loops share them."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        super().__init__(sleep)
        self.clock = clock
        self._slots: dict[str, dict[str, float]] = {}
        self._seconds: dict[str, float] = {}  # each key's window, as last taken
        self._longest = 0.0  # the longest window seen: a key idle that long holds nothing
        self._lock = threading.Lock()

    async def _try_take(self, key: str, limit: Limit, member: str) -> tuple[Taken | None, float]:
        wait = self.try_take_now(key, limit, member)
        return (Taken(key, limit, member, is_shared=False), 0.0) if wait == 0 else (None, wait)

    async def restamp(self, taken: Taken) -> None:
        self.stamp(taken.key, taken.limit, taken.member)

    async def give_back(self, taken: Taken) -> None:
        self.forget(taken.key, taken.member)

    def forget(self, key: str, member: str) -> None:
        with self._lock:
            self._slots.get(key, {}).pop(member, None)

    def try_take_now(self, key: str, limit: Limit, member: str) -> float:
        """0 when ``member`` took a slot, else how long until one frees (seconds)."""
        with self._lock:
            now = self.clock()
            slots = self._current(key, limit, now)
            if len(slots) < limit.requests:
                slots[member] = now
                return 0.0
            return max(min(slots.values()) + limit.seconds - now, 0.001)

    def stamp(self, key: str, limit: Limit, member: str) -> None:
        """``member`` counts from now, room or not (it was sent: the window records it)."""
        with self._lock:
            now = self.clock()
            self._current(key, limit, now)[member] = now

    def slots_held(self) -> dict[str, tuple[float, dict[str, float]]]:
        """Each key's window (seconds) and the slots still in it, by member: how long ago
        (seconds) each was taken or re-stamped."""
        with self._lock:
            now = self.clock()
            held = {}
            for key, slots in self._slots.items():
                seconds = self._seconds.get(key, self._longest)
                ages = {m: now - at for m, at in slots.items() if at > now - seconds}
                if ages:
                    held[key] = (seconds, ages)
            return held

    def _current(self, key: str, limit: Limit, now: float) -> dict[str, float]:
        self._longest = max(self._longest, limit.seconds)
        if len(self._slots) > MAX_IDLE_KEYS:
            since = now - self._longest
            self._slots = {
                k: v for k, v in self._slots.items() if any(t > since for t in v.values())
            }
            self._seconds = {k: v for k, v in self._seconds.items() if k in self._slots}
        self._seconds[key] = limit.seconds
        slots = self._slots.setdefault(key, {})
        for member, at in list(slots.items()):
            if at <= now - limit.seconds:
                del slots[member]
        return slots


__all__ = ["Limit", "MemoryWindows", "Taken", "Windows"]
