"""Twitch allows 10 VIP additions (and 10 removals) per 10 seconds per channel: queue, never drop.

Calls for one channel and kind wait their turn in order (an asyncio lock is first come, first
served); a call Twitch still rate-limits waits what Twitch asks and is tried again. A call counts
in the window when it lands (returns or fails), retries included: counted when it started, a slow
call let an 11th land inside 10 seconds.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from core.features.vip.ports import TwitchBusy

T = TypeVar("T")
CHANGES_PER_WINDOW = 10
WINDOW_SECONDS = 10.0


class VipPacer:
    def __init__(
        self,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        *,
        limit: int = CHANGES_PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.limit = limit
        self.window_seconds = window_seconds
        self._sent: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._locks: dict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def run(self, kind: str, broadcaster_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` (one VIP ``kind`` of change, "add" or "remove") when the channel's
        window has room. Raises what ``call`` raises, except a rate limit, which it waits out."""
        key = (kind, broadcaster_id)
        async with self._locks[key]:
            while True:
                await self._wait_for_room(key)
                try:
                    result = await call()
                except TwitchBusy as busy:
                    self._sent[key].append(self.clock())  # it landed, refused
                    if busy.retry_after is None:
                        raise
                    await self.sleep(max(busy.retry_after, 0.1))
                    continue
                except BaseException:
                    self._sent[key].append(self.clock())
                    raise
                self._sent[key].append(self.clock())
                return result

    async def _wait_for_room(self, key: tuple[str, str]) -> None:
        sent = self._sent[key]
        while True:
            now = self.clock()
            while sent and (now - sent[0]).total_seconds() >= self.window_seconds:
                sent.popleft()
            if len(sent) < self.limit:
                return
            await self.sleep(self.window_seconds - (now - sent[0]).total_seconds())
