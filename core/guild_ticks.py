"""The watchtime tick across guilds, each guild waiting only for its own presence.

One rule decides which tick first counts a chat (or a stream going live or offline): the first
tick whose instant is strictly after the event's stamp (``occurred_at``; platforms stamp whole
seconds, so a chat stamped in the very second of an instant counts from the next tick). Presence
applies it however late a tick runs (``watchtime.repository``), and the barrier here applies it
to what is still queued: a guild's tick for an instant waits until no chat or stream-status
event of that guild *stamped* before the instant is queued unhandled, whenever it was queued
(before the instant, or after it: a delivery that was slow or is sent again). So a chat counts
exactly once from its tick: in it when it was queued before the tick ran, and never in an
earlier one. Only a chat queued after its tick already ran (a delivery later than the tick)
counts from the tick after that.

One guild's backlog (an event failing again and again, a channel with a burst) must not hold
the other guilds' ticks. So each round asks the bus which such events are unhandled, maps the
presence events among them to the guilds that follow their channels, ticks every other guild at
once, and keeps polling for the waiting ones, ticking each as soon as its own events are
handled. A guild that still waits after ``limit_seconds`` is ticked anyway (logged): its tick
counts what happened before the instant, so it is late, never wrong. When the bus cannot
answer, or holds more unhandled events than ``look_at_most``, every guild waits, as one barrier.

The ticks' database and bus calls run on worker threads of their own (:data:`TICK_THREADS`), not
the default ones the event handlers share: while a burst of chat for 200 guilds keeps those
busy, a tick (a takeover's first among them) would wait its turn behind the handlers' calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from core.bus.base import EventBus
from core.events import ChatMessageSent, Event, GuildEvent, Platform, StreamEnded, StreamStarted
from core.ownership.share import partition_of
from core.scheduler import next_tick_at

log = logging.getLogger(__name__)

PRESENCE_EVENTS = (ChatMessageSent, StreamStarted, StreamEnded)
POLL_SECONDS = 0.05
# Shared by the GuildTicks of a process (a catch-up and the scheduled tick can run at once).
TICK_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="watchtime-ticks")
_T = TypeVar("_T")

GuildRouter = Callable[[Platform, str, int | None], Iterable[int]]


class GuildTicks:
    def __init__(
        self,
        bus: EventBus,
        guild_ids: Callable[[], Iterable[int]],
        guilds_tracking: GuildRouter,
        tick: Callable[[list[int], datetime], object],
        *,
        limit_seconds: float,
        interval_seconds: int = 60,
        look_at_most: int = 1000,
    ) -> None:
        self.bus = bus
        self.guild_ids = guild_ids
        self.guilds_tracking = guilds_tracking
        self.tick = tick
        self.limit_seconds = limit_seconds
        self.interval_seconds = interval_seconds
        self.look_at_most = look_at_most

    async def run(
        self, at: datetime, stop: asyncio.Event, *, only: Callable[[int], bool] | None = None
    ) -> None:
        """Tick every guild (or those ``only`` keeps) for the instant ``at``, each once its
        presence stamped before ``at`` is handled (or after ``limit_seconds``, or at once when
        ``stop`` is set)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limit_seconds
        left = set(await _on_tick_thread(lambda: list(self.guild_ids())))
        if only is not None:
            left = {guild_id for guild_id in left if only(guild_id)}
        while left and not stop.is_set():
            waiting = await _on_tick_thread(functools.partial(self.waiting_guilds, at))
            if loop.time() >= deadline:
                log.warning(
                    "watchtime tick at %s runs with events still queued for %s",
                    at,
                    "every guild" if waiting is None else f"{len(left & waiting)} guild(s)",
                )
                ready = left
            else:
                ready = set() if waiting is None else left - waiting
            if ready:
                await _on_tick_thread(functools.partial(self._tick_each, sorted(ready), at))
                left -= ready
            if left:
                await _sleep_or_stop(stop, POLL_SECONDS)

    async def catch_up(self, now: datetime, partitions: set[int]) -> None:
        """The tick of the latest instant for the guilds of ``partitions``, which this process
        has just taken over: their last owner may have died before ticking them. A guild it
        did tick is not ticked again (each guild's clock only moves forward)."""
        at = next_tick_at(now, self.interval_seconds) - timedelta(seconds=self.interval_seconds)
        await self.run(at, asyncio.Event(), only=lambda g: partition_of(g) in partitions)

    def waiting_guilds(self, at: datetime) -> set[int] | None:
        """The guilds with presence events stamped before ``at`` still unhandled; None: all wait
        (the bus cannot answer, or holds too many to look at)."""
        try:
            events = self.bus.unhandled_before(at, self.look_at_most)
        except Exception:
            return None
        if events is None:
            return None
        return self.guilds_of(events)

    def guilds_of(self, events: Iterable[Event]) -> set[int]:
        channels = {
            (event.platform, event.broadcaster_user_id, event.via_chatroom_id)
            for event in events
            if isinstance(event, PRESENCE_EVENTS) and not isinstance(event, GuildEvent)
        }
        return {guild for channel in channels for guild in self.guilds_tracking(*channel)}

    def _tick_each(self, guild_ids: list[int], at: datetime) -> None:
        """``tick(guild_ids, at)``: many guilds at once (``WatchtimeService.tick_many``, which
        keeps one guild's failure its own)."""
        try:
            self.tick(guild_ids, at)
        except Exception:
            log.exception(
                "the watchtime ticks of %d guild(s) failed; the next catch up", len(guild_ids)
            )


async def _on_tick_thread(work: Callable[[], _T]) -> _T:
    return await asyncio.get_running_loop().run_in_executor(TICK_THREADS, work)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
