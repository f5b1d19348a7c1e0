"""The real pipeline on the wall clock, with the test's rounds of events kept apart from its
watchtime ticks: for tests that check what the ticks credited while events flowed, on a
machine of any speed.

The scheduler ticks at every multiple of the interval, on the real time. A test that queues a
round of events (a chat in each of 101 guilds) and races the next instant fails on a busy
machine: a round that straddles an instant has part of its events counted at it and part not.
So here each round is queued while no tick runs, at one instant (the runtime's ``WallClock``
held still: every event's ``occurred_at`` and every queued time is that instant), and the test
waits for the ticks by event, never by the clock. Whatever the machine's speed, every event of
a round falls on one side of every tick instant: a tick for a later instant waits for the
round's events in each guild (``GuildTicks`` waits for a guild's events queued before the
instant, and the round was queued, before an earlier instant, before the tick began), and a
tick for an instant at or before the round counts none of it (activity at or after a tick's
instant never counts, however late the tick runs: ``watchtime.repository``).

The scheduler still decides when to tick. A tick that waits for a round starts late, and the
scheduler may then pass over an instant it missed, in every guild alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa

from core.events import Event
from core.guild_ticks import GuildTicks
from core.runtime import Runtime
from tests.support.clock import WallClock
from tests.support.waiting import PROCESS_HANG_SECONDS

T = TypeVar("T")

# No tick for this long: the pipeline hangs (it ticks every few seconds, however busy the
# machine; this only bounds how long a broken run waits to say so).
HANG_SECONDS = PROCESS_HANG_SECONDS


class TickGate:
    """Stands in for ``runtime.ticks`` (the scheduler asks the runtime for it at each tick) and
    runs each tick under the lock :meth:`round` queues under. ``clocks``: each guild's clock
    (``last_tick_at``) after each tick, every value it took; ``instants``: the instants ticked,
    in order."""

    def __init__(self, runtime: Runtime, pipeline: asyncio.Task[None]) -> None:
        if not isinstance(runtime.clock, WallClock):
            raise TypeError("the runtime must tell time by a tests.support.clock.WallClock")
        self.runtime = runtime
        self.clock: WallClock = runtime.clock
        self.ticks: GuildTicks = runtime.ticks
        self.pipeline = pipeline
        self.instants: list[datetime] = []
        self.clocks: dict[int, list[datetime]] = {}
        self._lock = asyncio.Lock()
        self._ticked = asyncio.Condition(self._lock)

    async def run(
        self, at: datetime, stop: asyncio.Event, *, only: Callable[[int], bool] | None = None
    ) -> None:
        """The tick for ``at`` (``GuildTicks.run``), once no round is being queued; then every
        guild's clock is read."""
        async with self._lock:
            await self.ticks.run(at, stop, only=only)
            if stop.is_set():
                return
            for guild_id, moved_to in await asyncio.to_thread(self._read_clocks):
                seen = self.clocks.setdefault(guild_id, [])
                if not seen or moved_to > seen[-1]:
                    seen.append(moved_to)
            self.instants.append(at)
            self._ticked.notify_all()

    async def catch_up(self, now: datetime, partitions: set[int]) -> None:
        async with self._lock:
            await self.ticks.catch_up(now, partitions)

    async def round(self, events: Callable[[datetime], Sequence[Event]]) -> datetime:
        """Queue ``events(now)`` all at once, as webhooks arriving together are (the bus commits
        them in a few group commits), with the runtime's clock held at ``now`` and no tick
        running; ``now``."""
        async with self._lock:
            # A timer may wake the scheduler a hair before its instant (a monotonic clock
            # against the wall clock): the round comes after the last instant ticked.
            if self.instants:
                early = (self.instants[-1] - datetime.now(UTC)).total_seconds()
                await asyncio.sleep(max(0.0, early) + 0.001)
            with self.clock.hold() as now:
                batch = list(events(now))
                await asyncio.to_thread(_publish_together, self.runtime, batch)
            return now

    async def tick_after(self, instant: datetime | None) -> datetime:
        """Until a tick for an instant after ``instant`` (any tick, when None) has run in every
        guild; that instant. Raises if the pipeline stops, or no such tick comes in
        ``HANG_SECONDS``."""

        def ticked() -> bool:
            return bool(self.instants) and (instant is None or self.instants[-1] > instant)

        async def wait() -> datetime:
            async with self._ticked:
                await self._ticked.wait_for(ticked)
                return self.instants[-1]

        return await self.unless_stopped(wait(), f"a tick after {instant}")

    async def unless_stopped(self, work: Awaitable[T], what: str) -> T:
        """``await work``, failing at once if the pipeline stops meanwhile, and after
        ``HANG_SECONDS`` if ``work`` never ends."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait(
            {task, self.pipeline}, timeout=HANG_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self.pipeline in done:
            self.pipeline.result()  # its exception, if it failed
            raise AssertionError(f"the pipeline stopped while waiting for {what}")
        raise AssertionError(f"no {what} in {HANG_SECONDS:g} s: the pipeline hangs")

    def _read_clocks(self) -> list[tuple[int, datetime]]:
        query = sa.text("SELECT guild_id, last_tick_at FROM watch_settings")
        with self.runtime.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [(guild_id, _aware(at)) for guild_id, at in rows if at is not None]


@asynccontextmanager
async def pipeline_running(runtime: Runtime) -> AsyncIterator[TickGate]:
    """``runtime.run_pipeline`` until the block ends, its ticks under a :class:`TickGate`."""
    stop = asyncio.Event()
    ticks = runtime.ticks
    pipeline = asyncio.create_task(runtime.run_pipeline(stop))
    gate = TickGate(runtime, pipeline)
    runtime.ticks = gate  # type: ignore[assignment]
    try:
        yield gate
    finally:
        stop.set()
        await asyncio.gather(pipeline, return_exceptions=True)
        runtime.ticks = ticks


def _publish_together(runtime: Runtime, events: Sequence[Event]) -> None:
    if not events:
        return
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        for published in [pool.submit(runtime.bus.publish, event) for event in events]:
            published.result()


def _aware(at: datetime | str) -> datetime:
    at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
