"""The bot process's timed work, registered by the features that own it.

The watchtime tick is the heartbeat: at every multiple of ``WATCH_INTERVAL_SECONDS`` since the
epoch (UTC, so a restart does not shift the schedule) the scheduler runs the tick for that
instant (which ticks each guild once its own events from before the instant are handled:
``core/guild_ticks.py``), then each job registered with :meth:`Scheduler.after_tick`, in order.
Jobs with a rhythm of their own (the role sync, Shuffle polls, Kick upkeep, the Pusher supervisor)
are registered with :meth:`Scheduler.every` or :meth:`Scheduler.loop`. A job that fails is logged
and tried again at its next turn; it never stops the others. A job that must follow its
guilds' tick (``everywhere``) and failed is tried again before the next tick, while the rows
of the tick it follows are still there.

With many bot processes (``core/ownership/``), each job runs in one process at a time: the one
holding the job's lease, which may pass to another process (the job's ``stop`` is then set
and it starts there); the work after the tick is one such job. A job of :meth:`Scheduler.every`
runs once per interval between them: the process it passes to runs it when its last run,
wherever it ran, makes it due, at once only when that run was cut off (a stop, a kill)
(``core/ownership/runs.py``). Jobs that share their work by
themselves (the outbox workers) or belong to this process's own Discord shard run everywhere.
Each process ticks the guilds of the partitions it owns. Without an ownership (one process, as
in most tests) everything runs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.ownership.runs import JobRuns
    from core.ownership.share import Ownership

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
Loop = Callable[[asyncio.Event], Awaitable[None]]
# The tick for an instant; it returns early when the event (stop) is set.
Tick = Callable[[datetime, asyncio.Event], Awaitable[object]]
AFTER_TICK = "the work after the tick"
STOP_GRACE_SECONDS = 5.0  # a job under way when the scheduler stops gets this long to end


@dataclass(frozen=True)
class AfterTick:
    name: str
    run: Job
    when: Callable[[], bool]
    everywhere: bool  # after each process's own tick, for its own guilds


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
        self._after_tick: list[AfterTick] = []
        self.loops: dict[str, Loop] = {}
        self._everywhere: set[str] = set()
        # An ``everywhere`` job failed after this process's last tick: finish it before the next.
        self._left_undone = False
        # Which jobs and guilds are this process's; set by the runtime once storage is built.
        self.ownership: Ownership | None = None

    def after_tick(
        self,
        name: str,
        job: Job,
        *,
        when: Callable[[], bool] = lambda: True,
        everywhere: bool = False,
    ) -> None:
        """Run ``job`` after each tick (while ``when()`` is true): in the one process holding the
        work after the tick, or, ``everywhere``, in each process after its own tick (a job that
        must follow its guilds' tick, and covers this process's guilds only). An ``everywhere``
        job also runs before a process's first tick and before a takeover's catch-up tick, for
        the last tick an earlier owner may have died after (:meth:`finish_last_tick`), so it
        must do nothing when run again for a tick it has done."""
        self._after_tick.append(AfterTick(name, job, when, everywhere))

    def every(
        self, name: str, seconds: Callable[[], float], job: Job, *, everywhere: bool = False
    ) -> None:
        """Run ``job`` now and then every ``seconds()`` until the scheduler stops. Held by one
        process at a time, it runs once per interval across processes: one that takes it over
        runs it when its last run makes it due (``core/ownership/runs.py``)."""

        async def run(stop: asyncio.Event) -> None:
            runs = None if everywhere or self.ownership is None else self.ownership.runs
            while not stop.is_set():
                if runs is not None and not await _starting(runs, name, seconds, stop):
                    continue
                ended = True
                try:
                    ended = await finish_or_cancel(name, job(), stop)
                except Exception:
                    log.exception("%s failed; trying again at the next interval", name)
                if runs is None:
                    await wait_or_stop(stop, seconds())
                    continue
                try:
                    await asyncio.to_thread(runs.ended, name, seconds(), cut_off=not ended)
                except Exception as exc:  # its next run is due at the interval's end anyway
                    log.warning("%s: the end of its run not recorded (%s)", name, exc)

        self.loop(name, run, everywhere=everywhere)

    def loop(self, name: str, run: Loop, *, everywhere: bool = False) -> None:
        """A job that keeps its own rhythm: ``run(stop)`` returns once ``stop`` is set. It runs
        in one bot process at a time, or in each when ``everywhere``."""
        if name in self.loops:
            raise ValueError(f"a scheduled job named {name!r} exists already")
        self.loops[name] = run
        if everywhere:
            self._everywhere.add(name)

    async def run(self, stop: asyncio.Event) -> None:
        """The heartbeat and every loop, until ``stop`` is set."""
        ownership = self.ownership
        if ownership is None:
            await asyncio.gather(self.run_ticks(stop), *(run(stop) for run in self.loops.values()))
            return
        ownership.jobs = self.jobs_held_once()
        await ownership.start()
        finished = asyncio.Event()  # every job and outbox call ended: the process may go

        async def work() -> None:
            try:
                await asyncio.gather(
                    self.run_ticks(stop),
                    *(
                        run(stop) if name in self._everywhere else self._while_held(name, run, stop)
                        for name, run in self.loops.items()
                    ),
                )
            finally:
                finished.set()

        await asyncio.gather(ownership.run(stop, finished), work())

    def jobs_held_once(self) -> list[str]:
        """The names of the jobs that run in one process at a time (under a lease each), the
        work after the tick among them."""
        return [name for name in self.loops if name not in self._everywhere] + [AFTER_TICK]

    def after_tick_jobs(self) -> list[AfterTick]:
        return list(self._after_tick)

    async def _while_held(self, name: str, run: Loop, stop: asyncio.Event) -> None:
        """``run`` while this process holds the job's lease: its ``stop`` is set when the lease
        passes to another process (or ``stop`` is), and it starts again if the lease comes back."""
        ownership = self.ownership
        if ownership is None:
            raise RuntimeError("a job held under a lease needs the scheduler's ownership")
        while not stop.is_set():
            if not ownership.holds_job(name):
                await wait_or_stop(stop, ownership.heartbeat_seconds)
                continue
            lost = asyncio.Event()
            watcher = asyncio.create_task(_set_when_lost(ownership, name, stop, lost))
            try:
                await run(lost)
                await watcher  # a job that ended by itself stays ended while the lease is held
            finally:
                watcher.cancel()

    async def run_ticks(self, stop: asyncio.Event) -> None:
        await self.finish_last_tick()
        while not stop.is_set():
            tick_at = next_tick_at(self.clock(), self.interval_seconds)
            await wait_or_stop(stop, (tick_at - self.clock()).total_seconds())
            if stop.is_set():
                break
            await self.tick_once(tick_at, stop)

    async def tick_once(self, tick_at: datetime, stop: asyncio.Event | None = None) -> None:
        """The tick for ``tick_at``, then the work that follows it; first, what failed after
        the last tick (:meth:`finish_last_tick`)."""
        if self._left_undone:
            await self.finish_last_tick()
        try:
            await self._tick(tick_at, stop or asyncio.Event())
        except Exception:
            log.exception("the watchtime tick failed; retrying at the next tick")
        await self.run_after_tick(everywhere_only=False)

    async def finish_last_tick(self) -> None:
        """What this process's guilds' last tick left undone: the ``everywhere`` jobs, run
        before the next tick moves on from it. A process killed between a tick and the work
        after it (or a dead process whose guilds this one took over) left that tick's points
        for watching unearned, and the next tick would overwrite who was there. So did a job
        that failed after this process's last tick."""
        self._left_undone = False
        await self.run_after_tick()

    async def run_after_tick(self, *, everywhere_only: bool = True) -> None:
        """The work after a tick: the jobs of every process (and, unless ``everywhere_only``,
        those of the process holding the work after the tick, if this is it)."""
        held = self.ownership is None or self.ownership.holds_job(AFTER_TICK)
        for job in self._after_tick:
            if not job.everywhere and (everywhere_only or not held):
                continue
            if not job.when():
                continue
            try:
                await job.run()
            except Exception:
                if job.everywhere:
                    self._left_undone = True
                    log.exception("%s failed; trying again before the next tick", job.name)
                else:
                    log.exception("%s failed; retrying at the next tick", job.name)


async def _starting(
    runs: JobRuns, name: str, seconds: Callable[[], float], stop: asyncio.Event
) -> bool:
    """Whether the job ``name`` is due now, and its run recorded as started; else (not due, or
    the database did not answer) it waits until it may be due, or ``stop``."""
    try:
        wait = await asyncio.to_thread(runs.seconds_until_due, name)
        if wait <= 0:
            await asyncio.to_thread(runs.started, name, seconds())
            return True
    except Exception as exc:  # the heartbeat fails too: the job passes on if it lasts
        log.warning("%s: when it is due not known (%s); asking again", name, exc)
        wait = runs.heartbeat_seconds
    await wait_or_stop(stop, wait)
    return False


async def _set_when_lost(
    ownership: Ownership, name: str, stop: asyncio.Event, lost: asyncio.Event
) -> None:
    """Set ``lost`` once this process no longer holds the job ``name`` (or ``stop`` is set)."""
    while not stop.is_set() and ownership.holds_job(name):
        await wait_or_stop(stop, ownership.heartbeat_seconds)
    lost.set()


def next_tick_at(now: datetime, interval_seconds: int) -> datetime:
    """The first multiple of ``interval_seconds`` since the epoch (UTC) after ``now``."""
    epoch_seconds = int(now.timestamp()) // interval_seconds * interval_seconds + interval_seconds
    return datetime.fromtimestamp(epoch_seconds, UTC)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


async def finish_or_cancel(name: str, work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Await ``work``; once ``stop`` is set it gets ``STOP_GRACE_SECONDS`` more, then it is
    cancelled (as a kill would stop it: every job resumes from what it stored), so a job stuck
    on a partner (a hanging Twitch) never holds the process's stop. Whether it ended by itself
    (False: cancelled); its exception, if it failed."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not task.done():
            log.warning(
                "%s was still running %g s after the stop; cancelled", name, STOP_GRACE_SECONDS
            )
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        task.result()  # its exception, if it failed
        return True
    finally:
        stopping.cancel()
