"""Life lines on PostgreSQL: a process whose database session ended (killed: its connections
close with it) is taken over at the next heartbeat of another, long before its leases would run
out; a living process is never taken for dead; one without a life line waits for its leases.

The leases' clock stands still in these tests, so no lease ever runs out by time: whatever
passes on, passes on because a life line said its process was dead."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.ownership.claims import holder_is_dead
from core.ownership.leases import Leases
from core.ownership.lifeline import LifeLine
from core.ownership.share import LEASE_SECONDS, PARTITIONS, Ownership
from tests.support.clock import Clock

pytestmark = pytest.mark.slow

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
EVERY_PARTITION = set(range(PARTITIONS))


def process(engine: Engine, clock: Clock, name: str, *, lifeline: bool = True) -> Ownership:
    leases = Leases(engine, name, clock, seconds=LEASE_SECONDS)
    ownership = Ownership(leases, lifeline=LifeLine(engine, name) if lifeline else None)
    ownership.jobs = ["the raffle's timed work"]
    ownership._sharing = True  # as start() does, without its event loop
    return ownership


def kill_session(engine: Engine, ownership: Ownership) -> None:
    """End the process's life session as PostgreSQL does when the process is killed."""
    life = ownership.lifeline
    assert life is not None
    assert life._conn is not None
    pid = life._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    gone = sa.text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid")
    deadline = time.monotonic() + 30
    while True:  # the backend ends by itself, soon; each look in a transaction of its own
        with engine.connect() as conn:
            if conn.execute(gone, {"pid": pid}).scalar():
                return
        assert time.monotonic() < deadline, "PostgreSQL never ended the session"
        time.sleep(0.02)


def split_between(a: Ownership, b: Ownership) -> None:
    for each in (a, b, a, b):
        each.beat()
    assert a.partitions
    assert b.partitions
    assert a.partitions | b.partitions == EVERY_PARTITION


def test_a_killed_process_is_taken_over_at_the_next_heartbeat(postgres_engine: Engine):
    clock = Clock(T0)
    a, b = process(postgres_engine, clock, "a"), process(postgres_engine, clock, "b")
    try:
        split_between(a, b)
        held_by_b = set(b.partitions)

        kill_session(postgres_engine, b)  # b is killed: it never beats again
        gained = a.beat()

        assert gained == held_by_b
        assert a.partitions == EVERY_PARTITION
        assert a.held_jobs == {"the raffle's timed work"}
        assert a.gone_processes() == {"b"}
        # Its claims (outbox calls, redemptions) are free now too: they follow its lease.
        dead = sa.select(holder_is_dead(sa.literal("b"), clock()))
        with postgres_engine.connect() as conn:
            assert conn.execute(dead).scalar() is True
    finally:
        a.give_up()


def test_living_processes_are_never_taken_for_dead(postgres_engine: Engine):
    clock = Clock(T0)
    a, b = process(postgres_engine, clock, "a"), process(postgres_engine, clock, "b")
    try:
        split_between(a, b)
        shares = (set(a.partitions), set(b.partitions))

        for _ in range(5):
            assert a.beat() == set()
            assert b.beat() == set()

        assert (a.partitions, b.partitions) == shares
        assert a.gone_processes() == b.gone_processes() == frozenset()
    finally:
        a.give_up()
        b.give_up()


def test_a_process_without_a_life_line_waits_for_its_leases_to_run_out(postgres_engine: Engine):
    clock = Clock(T0)
    a = process(postgres_engine, clock, "a")
    old = process(postgres_engine, clock, "old", lifeline=False)
    try:
        split_between(a, old)

        a.beat()  # "old" holds no life lock, and says it holds none: it is not taken for dead

        assert old.partitions
        assert not a.partitions & old.partitions
        clock.advance(LEASE_SECONDS + 0.1)  # ... until its leases run out
        a.beat()
        assert a.partitions == EVERY_PARTITION
    finally:
        a.give_up()


def test_a_process_whose_life_line_broke_takes_it_and_its_share_again(postgres_engine: Engine):
    clock = Clock(T0)
    a, b = process(postgres_engine, clock, "a"), process(postgres_engine, clock, "b")
    try:
        split_between(a, b)

        kill_session(postgres_engine, b)  # the database ended b's session; b itself lives on
        a.beat()
        assert a.partitions == EVERY_PARTITION

        b.beat()  # b opens another life line and is alive again for everyone
        assert b.lifeline is not None
        assert b.lifeline._conn is not None
        for each in (a, b, a, b):
            each.beat()
        assert a.partitions
        assert b.partitions
        assert not a.partitions & b.partitions
        assert a.partitions | b.partitions == EVERY_PARTITION
    finally:
        a.give_up()
        b.give_up()


def test_a_process_that_stops_lets_go_of_its_life_lock(postgres_engine: Engine):
    clock = Clock(T0)
    a = process(postgres_engine, clock, "a")
    a.beat()
    assert a.lifeline is not None

    a.give_up()

    # Another process of the same name could take the lock now (a restarted one never does:
    # process names carry a random part), and nothing says "a" is alive.
    again = LifeLine(postgres_engine, "a")
    try:
        assert again.hold()
    finally:
        again.close()


@pytest.mark.parametrize("stops_by", ["give_up", "close"])
def test_a_beat_that_comes_after_the_process_stopped_takes_nothing_again(
    postgres_engine: Engine, stops_by: str
):
    """A beat still queued in its thread when a cancelled run gave up (or the runtime closed)
    would open the life line again and take the leases back: it changes nothing and leaves no
    connection open, so the others see the process dead at their next beat."""
    clock = Clock(T0)
    a, b = process(postgres_engine, clock, "a"), process(postgres_engine, clock, "b")
    try:
        split_between(a, b)
        getattr(a, stops_by)()

        assert a.beat() == set()

        assert a.lifeline is not None
        assert a.lifeline._conn is None
        assert b.lifeline is not None
        assert b.lifeline.dead(["a"]) == {"a"}
        b.beat()
        assert b.partitions == EVERY_PARTITION
        assert "a" not in b.leases.holders().values()
    finally:
        a.give_up()
        b.give_up()
