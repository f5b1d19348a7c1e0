"""Scheduled jobs across two bot processes' schedulers, with real heartbeats (shortened): a job
runs in one process at a time, passes to the other when its process stops or dies, and a job
that shares its work by itself (an outbox worker) runs in both."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable

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
    """One bot process's scheduler: the job it runs records who ran it and when."""

    def __init__(self, engine: Engine, name: str, runs: list[tuple[str, float, float]]) -> None:
        self.name = name
        self.ownership = Ownership(
            Leases(engine, name, system_clock, seconds=LEASE), heartbeat_seconds=BEAT
        )
        self.scheduler = Scheduler(3600, self._no_tick, system_clock)
        self.scheduler.ownership = self.ownership
        self.everywhere: list[str] = []

        async def posting() -> None:
            started = time.monotonic()
            await asyncio.sleep(0.01)
            runs.append((name, started, time.monotonic()))

        self.calls_made = asyncio.Event()  # the worker's calls in flight at its stop end
        self.calls_made.set()

        async def worker(stop: asyncio.Event) -> None:
            self.everywhere.append(name)
            await stop.wait()
            await self.calls_made.wait()

        self.scheduler.every("posting", lambda: 0.01, posting)
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
async def processes(postgres_engine: Engine) -> AsyncIterator[Callable[[str], Process]]:
    runs: list[tuple[str, float, float]] = []
    started: list[Process] = []

    def make(name: str) -> Process:
        process = Process(postgres_engine, name, runs)
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
