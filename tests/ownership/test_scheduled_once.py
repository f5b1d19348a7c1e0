"""Scheduled jobs across two bot processes' schedulers, with real heartbeats (shortened): a job
runs in one process at a time, passes to the other when its process stops or dies, and a job
that shares its work by itself (an outbox worker) runs in both."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import system_clock
from core.ownership.leases import Leases
from core.ownership.share import Ownership
from core.scheduler import Scheduler
from core.storage.tables import leases
from tests.support.waiting import eventually

# A process whose loop stalls longer than its lease may still be running the job when another
# takes it (the leases promise no more): a busy machine stalls a loop for a good part of a
# second, so the lease is far longer than that, and a dead process's job passes on after it.
LEASE = 3.0
BEAT = 0.05


class Process:
    """One bot process's scheduler: the job it runs (every ``interval`` seconds) records who
    ran it and when, waiting for ``release`` first when given; ``looks`` records how long the
    process found the job not due yet (0: due), each time it looked while holding it."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        runs: list[tuple[str, float, float]],
        interval: float = 0.01,
        release: asyncio.Event | None = None,
    ) -> None:
        self.name = name
        self.ownership = Ownership(
            Leases(engine, name, system_clock, seconds=LEASE), heartbeat_seconds=BEAT
        )
        self.scheduler = Scheduler(3600, self._no_tick, system_clock)
        self.scheduler.ownership = self.ownership
        self.everywhere: list[str] = []
        self.started_runs: list[str] = []
        self.looks: list[float] = []
        runs_due = self.ownership.runs.seconds_until_due

        def seconds_until_due(job: str) -> float:
            wait = runs_due(job)
            self.looks.append(wait)
            return wait

        self.ownership.runs.seconds_until_due = seconds_until_due  # type: ignore[method-assign]

        async def posting() -> None:
            started = time.monotonic()
            self.started_runs.append(name)
            if release is not None:
                await release.wait()
            await asyncio.sleep(0.01)
            runs.append((name, started, time.monotonic()))

        self.calls_made = asyncio.Event()  # the worker's calls in flight at its stop end
        self.calls_made.set()

        async def worker(stop: asyncio.Event) -> None:
            self.everywhere.append(name)
            await stop.wait()
            await self.calls_made.wait()

        self.scheduler.every("posting", lambda: interval, posting)
        self.scheduler.loop("outbox calls", worker, everywhere=True)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @staticmethod
    async def _no_tick(*_: object) -> None:
        return None

    def start(self) -> None:
        self.task = asyncio.create_task(self.scheduler.run(self.stop))

    async def stop_cleanly(self) -> None:
        self.stop.set()
        assert self.task is not None
        await self.task

    async def die(self) -> None:
        """As ``kill -9``: everything stops at once and nothing is given up."""
        self.ownership.give_up = lambda: None  # type: ignore[method-assign]
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def processes(postgres_engine: Engine) -> AsyncIterator[Callable[..., Process]]:
    runs: list[tuple[str, float, float]] = []
    started: list[Process] = []

    def make(name: str, **options: Any) -> Process:
        process = Process(postgres_engine, name, runs, **options)
        process.runs = runs  # type: ignore[attr-defined]
        process.start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop.set()
        process.calls_made.set()
    await asyncio.gather(*(p.task for p in started if p.task), return_exceptions=True)


def ran_by(process: Process) -> set[str]:
    return {name for name, _, _ in process.runs}  # type: ignore[attr-defined]


def holds_lease(engine: Engine, name: str, holder: str) -> bool:
    """Whether a row of ``name`` held by ``holder`` is left, run out or not."""
    with engine.connect() as conn:
        held = conn.execute(
            sa.select(leases.c.name).where(leases.c.name == name, leases.c.holder == holder)
        ).first()
    return held is not None


def never_at_once(process: Process) -> bool:
    runs = sorted(process.runs, key=lambda run: run[1])  # type: ignore[attr-defined]
    return all(later[1] >= earlier[2] for earlier, later in itertools.pairwise(runs))


async def test_a_job_runs_in_one_process_and_passes_on_when_it_stops(processes, postgres_engine):
    a = processes("a")
    await eventually(lambda: ran_by(a) == {"a"})
    b = processes("b")
    await eventually(lambda: b.everywhere == ["b"])  # the outbox worker runs in both
    assert a.everywhere == ["a"]
    count = len(a.runs)
    await eventually(lambda: len(a.runs) > count + 5)
    assert ran_by(a) == {"a"}  # b runs its own loops, not a's job

    await a.stop_cleanly()
    # Given up at the stop, not left to run out: b may take it at its next heartbeat. (Waiting
    # for b's run within LEASE would say the same, but only on an idle machine.)
    assert not holds_lease(postgres_engine, "job:posting", "a")
    mark = len(a.runs)
    await eventually(lambda: {name for name, _, _ in a.runs[mark:]} == {"b"}, within=30)
    assert never_at_once(a)


async def test_a_dead_process_job_passes_on_once_its_lease_runs_out(processes):
    a = processes("a")
    await eventually(lambda: ran_by(a) == {"a"})
    b = processes("b")
    await eventually(lambda: b.everywhere == ["b"])

    await a.die()
    mark = len(a.runs)
    await eventually(lambda: any(name == "b" for name, _, _ in a.runs[mark:]), within=30)
    assert never_at_once(a)


async def test_a_stopping_process_stays_alive_until_its_calls_end_and_its_job_passes_on(
    processes, postgres_engine
):
    """Its outbox calls in flight stay its own (its heartbeat lives: killed now, its claims
    would pass on within seconds), while its jobs pass on at once."""
    a = processes("a")
    await eventually(lambda: ran_by(a) == {"a"})
    b = processes("b")
    await eventually(lambda: b.everywhere == ["b"])
    a.calls_made.clear()

    a.stop.set()
    mark = len(a.runs)
    await eventually(lambda: any(name == "b" for name, _, _ in a.runs[mark:]), within=30)
    assert holds_lease(postgres_engine, "process:a", "a")
    assert a.task is not None
    assert not a.task.done()

    a.calls_made.set()
    await a.task
    assert not holds_lease(postgres_engine, "process:a", "a")
    assert never_at_once(a)


async def test_a_job_passed_on_runs_once_per_interval(processes, postgres_engine):
    """Its last run, in the process that stopped, makes it due an hour on: the process it
    passes to waits for that, rather than running it again at once."""
    a = processes("a", interval=3600)
    await eventually(lambda: ran_by(a) == {"a"})
    b = processes("b", interval=3600)
    await eventually(lambda: b.everywhere == ["b"])

    await a.stop_cleanly()
    await eventually(lambda: bool(b.looks), within=30, message="b takes the job over")
    assert 3500 < b.looks[0] <= 3600
    assert ran_by(a) == {"a"}
    assert len(a.runs) == 1  # type: ignore[attr-defined]
    assert b.started_runs == []


async def test_a_run_cut_off_by_a_kill_is_run_again_at_once_by_the_process_that_takes_over(
    processes,
):
    """Killed mid-run, its process's heartbeat runs out, and the run is owed: the next holder
    makes it within seconds, not an interval on."""
    stuck = asyncio.Event()
    a = processes("a", interval=3600, release=stuck)
    await eventually(lambda: a.started_runs == ["a"])
    b = processes("b", interval=3600)
    await eventually(lambda: b.everywhere == ["b"])

    await a.die()
    await eventually(lambda: ran_by(a) == {"b"}, within=30, message="b runs the job")
    assert b.looks[0] == 0  # due at its first look


async def test_a_run_cut_off_by_a_stop_is_run_again_at_once_by_the_process_that_takes_over(
    processes,
):
    """Its stop's grace ran out and the run was cancelled: the run is owed, and the next holder
    makes it as soon as the stopped process has let it go."""
    stuck = asyncio.Event()
    a = processes("a", interval=3600, release=stuck)
    await eventually(lambda: a.started_runs == ["a"])
    b = processes("b", interval=3600)
    await eventually(lambda: b.everywhere == ["b"])

    await a.stop_cleanly()  # the run is cancelled after the scheduler's stop grace
    await eventually(lambda: ran_by(a) == {"b"}, within=30, message="b runs the job")
    before_its_run = list(itertools.takewhile(lambda wait: wait > 0, b.looks))
    assert all(wait == BEAT for wait in before_its_run)  # it waited for a's run to end
