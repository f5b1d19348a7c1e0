"""The outbox when the database fails for a moment, on SQLite and PostgreSQL: what came of a call
is written once the database takes it (the partner is not asked twice, nor a call made once
called uncertain), and a claim a lane could not give back is taken again by its worker at once,
not after the safety net, so the guild's later calls do not wait minutes behind it.

The failures are real statement errors (SQLite's "database is locked", as another writer
holding the file past the busy timeout causes), raised for the chosen statements while the test
says so."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.outbox.worker import Kind, OutboxWorker, Retry
from tests.outbox.test_claims import beating
from tests.outbox.test_worker import T0, Partner, effect, queue, states
from tests.support.clock import Clock


class FailingWrites:
    """Statements for which ``fails(statement)`` holds raise, the next ``times`` of them."""

    def __init__(self, engine: Engine, fails: Callable[[str], bool]) -> None:
        self.fails = fails
        self.times = 0
        self.failed: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self.before)

    def before(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if self.times and self.fails(statement):
            self.times -= 1
            self.failed.append(statement)
            raise sa.exc.OperationalError(
                statement, parameters, sqlite3.OperationalError("database is locked")
            )


def recording_outcome(statement: str) -> bool:
    """The update that ends a call or sets its next try (its claim given up with it)."""
    sets = statement.split("WHERE")[0]
    return sets.startswith("UPDATE outbox") and (
        "finished_at=" in sets or "next_attempt_at=" in sets
    )


def giving_back(statement: str) -> bool:
    """The update that gives back a lane's later calls, unspent."""
    sets = statement.split("WHERE")[0]
    return sets.startswith("UPDATE outbox") and "attempts=(outbox.attempts - " in sets


def making(engine: Engine, clock: Clock, partner: Partner, **kinds: Kind) -> OutboxWorker:
    """A bot process's worker (its claims last while it beats), quick to try again."""
    beating(engine, "bot")
    made = OutboxWorker(
        engine, "helix", kinds or {"add": Kind(partner.call)}, clock, poll_seconds=0.01
    )
    made.beat_by("bot")
    return made


@pytest.mark.parametrize("idempotent", [False, True])
async def test_an_outcome_the_database_refused_for_a_moment_is_written_when_it_answers(
    engine: Engine, caplog: pytest.LogCaptureFixture, idempotent: bool
):
    """Chat lines, payments and posts have no idempotency key: had the outcome been lost, the
    next claim would have called the line uncertain (or made the call again)."""
    partner = Partner()
    worker = making(engine, Clock(T0), partner, add=Kind(partner.call, idempotent=idempotent))
    failing = FailingWrites(engine, recording_outcome)
    failing.times = 2
    queue(engine, effect(1), effect(2))

    assert await worker.run_once() == 2

    assert len(failing.failed) == 2  # the first outcome, twice
    assert [call["user"] for call in partner.calls] == ["1", "2"]  # each once, in order
    assert states(engine) == [("add:1", "done", 1, "ok"), ("add:2", "done", 1, "ok")]
    assert sum("not recorded" in r.getMessage() for r in caplog.records) == 1


async def test_a_retry_the_database_refused_for_a_moment_is_written_and_holds_its_guild(
    engine: Engine,
):
    clock = Clock(T0)
    partner = Partner(Retry("429", after_seconds=30))
    worker = making(engine, clock, partner)
    failing = FailingWrites(engine, recording_outcome)
    failing.times = 1
    queue(engine, effect(1), effect(2))

    assert await worker.run_once() == 2
    assert states(engine) == [("add:1", "pending", 1, "429"), ("add:2", "pending", 0, None)]
    clock.advance(30)
    assert await worker.run_once() == 2
    assert [call["user"] for call in partner.calls] == ["1", "1", "2"]


async def test_calls_a_lane_could_not_give_back_are_taken_again_by_their_worker_at_once(
    engine: Engine,
):
    """Their claim would have held for the safety net (10 minutes, the process beats), and the
    guild's first call behind it."""
    clock = Clock(T0)
    partner = Partner(Retry("429", after_seconds=30))
    worker = making(engine, clock, partner)
    failing = FailingWrites(engine, giving_back)
    failing.times = 1
    queue(engine, effect(1), effect(2))

    assert await worker.run_once() == 2  # the first to be tried again; the second not given back
    assert failing.failed
    clock.advance(30)
    assert await worker.run_once() == 2

    assert [call["user"] for call in partner.calls] == ["1", "1", "2"]
    assert [(key, state) for key, state, *_ in states(engine)] == [
        ("add:1", "done"),
        ("add:2", "done"),
    ]


async def test_another_process_still_waits_for_the_calls_a_living_worker_holds(engine: Engine):
    """Only the worker that holds a claim takes it again; another process waits for it (the
    holder beats) and leaves the guild's calls in order."""
    clock = Clock(T0)
    worker = making(engine, clock, Partner(Retry("429", after_seconds=30)))
    failing = FailingWrites(engine, giving_back)
    failing.times = 1
    queue(engine, effect(1), effect(2))
    assert await worker.run_once() == 2
    clock.advance(30)

    beating(engine, "other")
    other = OutboxWorker(engine, "helix", {"add": Kind(Partner().call)}, clock)
    other.beat_by("other")
    assert await other.run_once() == 0


async def test_a_worker_that_runs_makes_no_round_beside_it(engine: Engine):
    """Its own claims are free to it outside its lanes: a round beside its running lanes would
    take theirs."""
    worker = making(engine, Clock(T0), Partner())
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="runs already"):
        await worker.run_once()
    stop.set()
    await running
    assert await worker.run_once() == 0  # once it stopped, as before
