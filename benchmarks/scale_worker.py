"""One bot process of the scale bench (issue 26), started with ``multiprocessing`` (spawn).

It builds a real :class:`core.runtime.Runtime` on the bench database (no Redis, no Discord, no
platform credentials), takes its share of the work through the real leases
(``core/ownership/``: the 16 guild partitions and the scheduled jobs, as ``Scheduler.run``
hands them to ``Ownership``), and beats until the processes have shared everything out. Then,
when every process is ready (a barrier):

1. **the tick**: ``runtime.ticks.run(T)``, the scheduler's ``GuildTicks`` for this process's
   own guilds (those of its partitions), timed with this process's CPU time;
2. once every process has ticked (a second barrier; the scheduler does not wait for the other
   processes, so this is the interval's longest course: the jobs then find every guild ticked),
   the process holding the after-tick lease runs each job the features registered with
   ``scheduler.after_tick`` (the raffle's timed work and its conversions, points for watching
   and their posting, StreamElements payments), and the process holding the lease of
   "expiring temporary VIPs" runs that job's body (``vip.expiry.expire_due``) once; each timed.

The heartbeat runs meanwhile, as in the bot. What was measured goes back to the parent on a
queue; times are ``time.monotonic()`` (one clock for every process on Linux). Every process
keeps its share until all are done (a third barrier).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from benchmarks.scale_seed import T
from core.config import load_settings
from core.ownership.share import _JOB, _PARTITION, _PROCESS, PARTITIONS, Ownership
from core.runtime import Runtime
from core.scheduler import AFTER_TICK
from core.security.secrets import new_fernet_key

VIP_JOB = "expiring temporary VIPs"  # core/wiring/vip.py
SHARE_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Plan:
    database_url: str
    index: int
    processes: int
    data_dir: str
    timeout_seconds: float


@dataclass(frozen=True)
class Part:
    name: str
    started: float  # time.monotonic()
    ended: float
    cpu_seconds: float  # this process's, all threads
    problem: str | None = None

    @property
    def wall_seconds(self) -> float:
        return self.ended - self.started


@dataclass
class ProcessFigures:
    index: int
    partitions: list[int] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    guilds_ticked: int = 0
    credited: int = 0
    tick: Part | None = None
    after: list[Part] = field(default_factory=list)  # after-tick jobs, then VIP expiry
    vip_queued: int = 0  # removals queued for the Twitch Helix and Discord workers
    load_start: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    problems: list[str] = field(default_factory=list)

    @property
    def tick_cpu_ms_per_guild(self) -> float:
        if self.tick is None or not self.guilds_ticked:
            return math.nan
        return self.tick.cpu_seconds * 1000 / self.guilds_ticked

    @property
    def ended(self) -> float:
        ends = [part.ended for part in [self.tick, *self.after] if part is not None]
        return max(ends, default=math.nan)


def shared_out(live: dict[str, str], processes: int, jobs: int) -> bool:
    """Whether the leases ``live`` (name -> holder) show the work shared out among
    ``processes`` live processes: every partition and every job held, nobody over its share."""
    names = list(live)
    if sum(1 for name in names if name.startswith(_PROCESS)) != processes:
        return False
    partitions = [name for name in names if name.startswith(_PARTITION)]
    held_jobs = [name for name in names if name.startswith(_JOB)]
    if len(partitions) != PARTITIONS or len(held_jobs) != jobs:
        return False
    for kind, count in ((partitions, PARTITIONS), (held_jobs, jobs)):
        share = math.ceil(count / processes)
        holders = [live[name] for name in kind]
        if any(holders.count(holder) > share for holder in set(holders)):
            return False
    return True


def build_runtime(plan: Plan) -> Runtime:
    settings = load_settings(
        {
            "DATABASE_URL": plan.database_url,
            "DATA_DIR": plan.data_dir,
            "PORT": "0",
            "FLASK_SECRET_KEY": "bench-link-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": new_fernet_key(),
            "LOG_LEVEL": "WARNING",
        },
        env_file=None,
    )
    return Runtime(settings, clock=lambda: T)


def work(plan: Plan, barriers: tuple, results) -> None:
    """The process's body: ``barriers`` (ready, ticked, done) are each shared by every
    process, ``results`` a queue that receives this process's :class:`ProcessFigures`."""
    logging.basicConfig(
        level=logging.WARNING, format=f"[bot {plan.index}] %(levelname)s %(name)s: %(message)s"
    )
    # The expiry job warns once per grant it must postpone (no Discord, no Twitch connection
    # here): hundreds of lines that would bury the report. Its counts are reported instead.
    logging.getLogger("core.features.vip").setLevel(logging.ERROR)
    figures = ProcessFigures(plan.index)
    try:
        runtime = build_runtime(plan)
        try:
            asyncio.run(_interval(runtime, plan, barriers, figures))
        finally:
            runtime.close()
    except Exception as exc:
        traceback.print_exc()
        figures.problems.append(f"bot process {plan.index}: {type(exc).__name__}: {exc}")
        for barrier in barriers:
            barrier.abort()  # the others stop waiting for this one
    results.put(figures)


async def _interval(rt: Runtime, plan: Plan, barriers: tuple, figures: ProcessFigures) -> None:
    ready, ticked, done = barriers
    ownership, scheduler = rt.ownership, rt.scheduler
    # As Scheduler.run: the jobs that run in one process at a time, the work after the tick one.
    ownership.jobs = scheduler.jobs_held_once()
    if VIP_JOB not in scheduler.loops:
        raise RuntimeError(f"no scheduled job named {VIP_JOB!r} (core/wiring/vip.py)")
    await ownership.start()
    await _share_out(ownership, plan.processes)
    figures.partitions = sorted(ownership.partitions)
    figures.jobs = sorted(ownership.held_jobs)
    counts = _count_ticks(rt)
    stop = asyncio.Event()
    heartbeat = asyncio.create_task(ownership.run(stop))
    try:
        await asyncio.to_thread(ready.wait, plan.timeout_seconds)
        figures.load_start = os.getloadavg()
        figures.tick = await _timed("tick", lambda: rt.ticks.run(T, asyncio.Event()))
        figures.guilds_ticked, figures.credited = counts
        await asyncio.to_thread(ticked.wait, plan.timeout_seconds)
        # As Scheduler.run_after_tick: every process's own jobs, and the rest where held.
        held = ownership.holds_job(AFTER_TICK)
        for job in scheduler.after_tick_jobs():
            if (job.everywhere or held) and job.when():
                figures.after.append(await _timed(job.name, job.run))
        if ownership.holds_job(VIP_JOB):

            async def expire() -> None:
                run = await rt.vip.expiry.expire_due()
                figures.vip_queued = run.queued

            figures.after.append(await _timed(VIP_JOB, expire))
        # Every process keeps its share until all are done: one that stopped would give its
        # partitions and jobs up, and the others would take them over (and catch up).
        await asyncio.to_thread(done.wait, plan.timeout_seconds)
    finally:
        stop.set()
        await heartbeat
    figures.problems += [f"{part.name}: {part.problem}" for part in figures.after if part.problem]
    if counts != [figures.guilds_ticked, figures.credited]:
        figures.problems.append(f"bot process {plan.index} ticked guilds after its tick")


async def _share_out(ownership: Ownership, processes: int) -> None:
    """Beat until every process has its share (each beat gives up what is over it)."""
    deadline = time.monotonic() + SHARE_TIMEOUT_SECONDS
    while True:
        live = await asyncio.to_thread(ownership.leases.holders)
        if shared_out(live, processes, len(ownership.jobs)):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the work was not shared out in {SHARE_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(0.2)
        await asyncio.to_thread(ownership.beat)


def _count_ticks(rt: Runtime) -> list[int]:
    """[guilds, viewers credited]: what ``GuildTicks`` hands the watchtime tick and what it
    credits, counted from now on."""
    tick, counts = rt.ticks.tick, [0, 0]

    def counted(guild_ids: list[int], at) -> object:
        results = tick(guild_ids, at)
        counts[0] += len(guild_ids)
        counts[1] += sum(result.credited_viewers for result in results)  # type: ignore[attr-defined]
        return results

    rt.ticks.tick = counted
    return counts


async def _timed(name: str, run: Callable[[], Awaitable[object]]) -> Part:
    started, cpu = time.monotonic(), time.process_time()
    problem = None
    try:
        await run()
    except Exception as exc:  # the scheduler logs a failed job and goes on; so does the bench
        logging.getLogger(__name__).exception("%s failed", name)
        problem = f"{type(exc).__name__}: {exc}"
    return Part(name, started, time.monotonic(), time.process_time() - cpu, problem)
