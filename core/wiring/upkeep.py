"""Keeping a platform's webhook subscriptions in place, the same loop for Kick and Twitch."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from core.scheduler import wait_or_stop

log = logging.getLogger(__name__)
FULL_SYNC_EVERY_SECONDS = 30 * 60


class SubscriptionKeeping(Protocol):
    async def sync_all(self) -> object: ...

    async def sync_requested(self) -> object: ...


class SubscriptionUpkeep:
    """All of a platform's subscriptions every 30 minutes, and right away for a guild that asked
    (a streamer who just connected, or ``!kick sync`` / ``!twitch sync``)."""

    def __init__(self, subscriptions: SubscriptionKeeping, platform: str) -> None:
        self.subscriptions = subscriptions
        self.platform = platform

    async def run(self, stop: asyncio.Event, *, every_seconds: float = 60.0) -> None:
        last_full = float("-inf")
        while not stop.is_set():
            try:
                if time.monotonic() - last_full >= FULL_SYNC_EVERY_SECONDS:
                    await self.subscriptions.sync_all()
                    last_full = time.monotonic()
                else:
                    await self.subscriptions.sync_requested()
            except Exception:
                log.exception("%s subscription upkeep failed; trying again soon", self.platform)
            await wait_or_stop(stop, every_seconds)
