"""The bot process's timed work, registered by the features that own it.

The watchtime tick is the heartbeat: at every multiple of ``WATCH_INTERVAL_SECONDS`` since the
epoch (UTC, so a restart does not shift the schedule) the scheduler runs the tick for that
instant (which ticks each guild once its own events from before the instant are handled:
``core/guild_ticks.py``), then each job registered with :meth:`Scheduler.after_tick`, in order.
Jobs with a rhythm of their own (the role sync, Shuffle polls, Kick upkeep, the Pusher supervisor)
are registered with :meth:`Scheduler.every` or :meth:`Scheduler.loop`. A job that fails is logged
and tried again at its next turn; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
Loop = Callable[[asyncio.Event], Awaitable[None]]
# The tick for an instant; it returns early when the event (stop) is set.
Tick = Callable[[datetime, asyncio.Event], Awaitable[object]]


@dataclass(frozen=True)
class _AfterTick:
    name: str
    run: Job
    when: Callable[[], bool]


class Scheduler:
    def __init__(
        self,
        interval_seconds: int,
        tick: Tick,
        clock: Callable[[], datetime],
    ) -> None:
        self.interval_seconds = interval_seconds
        self._tick = tick
        self.clock = clock
        self._after_tick: list[_AfterTick] = []
        self.loops: dict[str, Loop] = {}

    def after_tick(self, name: str, job: Job, *, when: Callable[[], bool] = lambda: True) -> None:
        """Run ``job`` after each tick (while ``when()`` is true)."""
        self._after_tick.append(_AfterTick(name, job, when))

    def every(self, name: str, seconds: Callable[[], float], job: Job) -> None:
        """Run ``job`` now and then every ``seconds()`` until the scheduler stops."""

        async def run(stop: asyncio.Event) -> None:
            while not stop.is_set():
                try:
                    await job()
                except Exception:
                    log.exception("%s failed; trying again at the next interval", name)
                await wait_or_stop(stop, seconds())

        self.loop(name, run)

    def loop(self, name: str, run: Loop) -> None:
        """A job that keeps its own rhythm: ``run(stop)`` returns once ``stop`` is set."""
        if name in self.loops:
            raise ValueError(f"a scheduled job named {name!r} exists already")
        self.loops[name] = run

    async def run(self, stop: asyncio.Event) -> None:
        """The heartbeat and every loop, until ``stop`` is set."""
        await asyncio.gather(self.run_ticks(stop), *(run(stop) for run in self.loops.values()))

    async def run_ticks(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            tick_at = next_tick_at(self.clock(), self.interval_seconds)
            await wait_or_stop(stop, (tick_at - self.clock()).total_seconds())
            if stop.is_set():
                break
            await self.tick_once(tick_at, stop)

    async def tick_once(self, tick_at: datetime, stop: asyncio.Event | None = None) -> None:
        """The tick for ``tick_at``, then the work that follows it."""
        try:
            await self._tick(tick_at, stop or asyncio.Event())
        except Exception:
            log.exception("the watchtime tick failed; retrying at the next tick")
        for job in self._after_tick:
            if not job.when():
                continue
            try:
                await job.run()
            except Exception:
                log.exception("%s failed; retrying at the next tick", job.name)


def next_tick_at(now: datetime, interval_seconds: int) -> datetime:
    """The first multiple of ``interval_seconds`` since the epoch (UTC) after ``now``."""
    epoch_seconds = int(now.timestamp()) // interval_seconds * interval_seconds + interval_seconds
    return datetime.fromtimestamp(epoch_seconds, UTC)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
