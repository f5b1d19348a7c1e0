"""Bot processes sharing the work through leases, on SQLite and PostgreSQL: one process takes
everything, two split it evenly, a process that stops hands over at once, one that dies (no
more heartbeats) is taken over once its leases run out, and no partition or job is ever held
by two processes at the same time."""

from __future__ import annotations

import asyncio
import math
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.ownership.leases import Leases
from core.ownership.share import (
    AFTER_EXPIRY_SECONDS,
    FORGET_DEAD_PROCESSES_SECONDS,
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    PARTITIONS,
    Ownership,
    on_shard,
    partition_of,
)
from core.storage.tables import leases
from tests.support.clock import Clock
from tests.support.waiting import eventually

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
JOBS = ["the raffle's timed work", "expiring temporary VIPs", "resolving heists"]
EVERY_PARTITION = set(range(PARTITIONS))


def process(engine: Engine, clock: Clock, name: str) -> Ownership:
    ownership = Ownership(Leases(engine, name, clock, seconds=LEASE_SECONDS))
    ownership.jobs = list(JOBS)
    ownership._sharing = True  # as start() does, without its event loop
    return ownership


def test_one_process_takes_every_partition_and_job(engine: Engine):
    alone = process(engine, Clock(T0), "a")

    gained = alone.beat()

    assert gained == EVERY_PARTITION
    assert alone.partitions == EVERY_PARTITION
    assert alone.held_jobs == set(JOBS)
    assert alone.owns_guild(555000000000000001)


def test_two_processes_split_the_partitions_and_jobs_evenly(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, clock, "a"), process(engine, clock, "b")
    a.beat()

    assert b.beat() == set()  # all held: b waits for a to give up its extra half
    a.beat()
    clock.advance(1)
    assert len(b.beat()) == PARTITIONS // 2

    assert a.partitions | b.partitions == EVERY_PARTITION
    assert not a.partitions & b.partitions
    assert len(a.partitions) == len(b.partitions) == PARTITIONS // 2
    assert a.held_jobs | b.held_jobs == set(JOBS)
    assert not a.held_jobs & b.held_jobs
    assert {len(a.held_jobs), len(b.held_jobs)} == {1, 2}
    # What each keeps of a partner's limit while Redis is out (core/ratelimits/).
    assert a.live_processes() == b.live_processes() == 2


def test_a_process_that_stops_hands_its_share_over_at_once(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, clock, "a"), process(engine, clock, "b")
    for each in (a, b, a, b):
        each.beat()

    a.give_up()

    assert not a.owns_guild(0)
    assert b.beat() == EVERY_PARTITION - b.partitions or b.partitions == EVERY_PARTITION
    assert b.partitions == EVERY_PARTITION
    assert b.held_jobs == set(JOBS)


async def test_a_stopping_process_hands_its_share_over_but_stays_alive_until_finished(
    engine: Engine,
):
    """While its outbox calls finish, a stopping process keeps its heartbeat (its claims stay
    its own, and pass on within seconds if it is killed now) but no partition or job."""
    clock = Clock(T0)
    a, b = process(engine, clock, "a"), process(engine, clock, "b")
    for each in (a, b, a, b):
        each.beat()
    stop, finished = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(a.run(stop, finished))
    stop.set()

    def held_by_a() -> list[str]:
        return sorted(name for name, holder in b.leases.holders().items() if holder == "a")

    await eventually(lambda: held_by_a() == ["process:a", "stopping:a"], within=60)
    assert not a.partitions
    assert not a.held_jobs
    b.beat()
    assert b.partitions == EVERY_PARTITION
    assert b.held_jobs == set(JOBS)

    finished.set()
    await running
    assert "process:a" not in b.leases.holders()


def test_a_dead_process_is_taken_over_once_its_leases_run_out(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, clock, "a"), process(engine, clock, "b")
    for each in (a, b, a, b):
        each.beat()
    a_had = set(a.partitions)

    clock.advance(LEASE_SECONDS - 1)  # a is silent (killed), its leases still run
    b.beat()
    assert b.partitions == EVERY_PARTITION - a_had

    clock.advance(1)
    assert b.beat() == a_had  # gained: the caller catches up their ticks
    assert b.partitions == EVERY_PARTITION
    assert b.held_jobs == set(JOBS)
    # a's own view ran out with its leases: were it only stalled, it does nothing meanwhile.
    assert not any(a.owns_guild(guild << 22) for guild in a_had)
    assert not a.holds_job(JOBS[0])


def test_a_dead_process_is_taken_over_just_after_its_leases_end_not_at_the_next_heartbeat(
    engine: Engine,
):
    """a renews for the last time at 20:00:00 and is killed; b beats every 2 s from 20:00:01.
    At 20:00:05 its next beat would come at 20:00:07; it comes at 20:00:06.05 instead, just
    after a's leases ran out, and takes a's partitions then: within 10 s of the kill with
    nearly four seconds to spare for their first tick."""
    assert LEASE_SECONDS == 6
    clock = Clock(T0)
    a, b = process(engine, clock, "a"), process(engine, clock, "b")
    for each in (a, b, a, b):
        each.beat()
    a_had = set(a.partitions)
    clock.advance(1)
    assert b.seconds_to_next_beat() == HEARTBEAT_SECONDS  # a renewed a moment ago
    for _ in range(2):
        clock.advance(2)
        b.beat()  # 20:00:03, :05
    assert b.gone_processes() == frozenset()

    wait = b.seconds_to_next_beat()

    assert wait == pytest.approx(1 + AFTER_EXPIRY_SECONDS)
    clock.advance(wait)
    assert b.beat() == a_had
    assert b.gone_processes() == frozenset({"a"})
    assert b.seconds_to_next_beat() == HEARTBEAT_SECONDS  # nobody else holds a lease


def test_a_beat_that_failed_waits_a_heartbeat_before_the_next(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, clock, "a"), process(engine, clock, "b")
    a.beat()
    b.beat()
    clock.advance(LEASE_SECONDS)  # a's leases ran out long ago, as far as b last knew
    b.leases.engine = sa.create_engine("sqlite:///nonexistent/dir/db.sqlite3")

    asyncio.run(b._beat_once())

    assert b.seconds_to_next_beat() == HEARTBEAT_SECONDS


def test_two_survivors_beating_at_the_same_moment_each_take_their_share_in_that_beat(
    engine: Engine,
):
    """c dies; a and b wake at the same moment when its leases end (each beats just after the
    end) and find the same partitions free. Each has its whole share after that one beat,
    whoever won which race: none waits a heartbeat for the rest."""
    for attempt in range(5):
        clock = Clock(T0 + timedelta(hours=attempt))  # the last attempt's leases are over
        survivors = [process(engine, clock, f"a{attempt}"), process(engine, clock, f"b{attempt}")]
        dead = process(engine, clock, f"c{attempt}")
        for _ in range(4):
            for each in (*survivors, dead):
                each.beat()
            clock.advance(1)
        assert sorted(len(p.partitions) for p in (*survivors, dead)) == [4, 6, 6]
        for _ in range(2):  # c is silent from 20:00:03 on; a and b beat at :05.5, :07.5
            clock.advance(HEARTBEAT_SECONDS if _ else 1.5)
            for each in survivors:
                each.beat()
        wait = 1.5 + AFTER_EXPIRY_SECONDS  # just after c's 6 s leases end, at :09
        assert [p.seconds_to_next_beat() for p in survivors] == [pytest.approx(wait)] * 2
        clock.advance(wait)
        start = threading.Barrier(2)

        def beat(ownership: Ownership, start: threading.Barrier = start) -> None:
            start.wait()
            ownership.beat()

        threads = [threading.Thread(target=beat, args=(each,)) for each in survivors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert [len(p.partitions) for p in survivors] == [PARTITIONS // 2] * 2


def test_a_process_cut_off_from_the_database_stops_owning_when_its_leases_would_end(
    engine: Engine,
):
    clock = Clock(T0)
    a = process(engine, clock, "a")
    a.beat()
    guild = 7 << 22  # partition 7

    clock.advance(LEASE_SECONDS - 0.5)
    assert a.owns_guild(guild)
    clock.advance(0.5)
    assert not a.owns_guild(guild)
    assert not a.holds_job(JOBS[0])


def test_before_it_starts_sharing_a_process_does_all_the_work_itself(engine: Engine):
    """A tool or a test that ticks by hand, with no scheduler running: nothing is skipped."""
    loner = Ownership(Leases(engine, "tool", Clock(T0), seconds=LEASE_SECONDS))

    assert loner.owns_guild(123)
    assert loner.holds_job("anything")


def test_the_partition_is_the_guilds_discord_shard():
    """Discord's formula, (guild_id >> 22) % shards: partition and shard agree when counts do."""
    guild = 81384788765712384  # Discord's example guild id
    assert partition_of(guild) == (guild >> 22) % PARTITIONS
    assert {partition_of(i << 22) for i in range(PARTITIONS)} == EVERY_PARTITION


def test_no_partition_or_job_is_ever_owned_by_two_processes(engine: Engine):
    """Three processes beating, stalling, stopping or dying and starting again (under a new
    name) in a random order (seeded): at every moment, the partitions and jobs each one
    believes it owns never overlap, and a process that beats regularly always ends up with
    work."""
    clock = Clock(T0)
    rng = random.Random(26)  # noqa: S311 - a repeatable script
    processes = {name: process(engine, clock, name) for name in "abc"}
    generation = dict.fromkeys(processes, 0)
    for _ in range(250):
        name = rng.choice(sorted(processes))
        action = rng.random()
        if action < 0.7:
            processes[name].beat()
        elif action < 0.85:  # stopped (0.1) or killed (0.05); a new one starts under a new name
            if action < 0.8:
                processes[name].give_up()
            generation[name] += 1
            processes[name] = process(engine, clock, f"{name}{generation[name]}")
        clock.advance(rng.choice([0.5, 1, 2, 3]))

        owned = list(processes.values())
        for i, first in enumerate(owned):
            for second in owned[i + 1 :]:
                for partition in range(PARTITIONS):
                    guild = partition << 22
                    assert not (first.owns_guild(guild) and second.owns_guild(guild))
                for job in JOBS:
                    assert not (first.holds_job(job) and second.holds_job(job))

    for _ in range(int(LEASE_SECONDS) + 2):  # the living beat on: all owned, none over its share
        for each in processes.values():
            each.beat()
        clock.advance(1)
    assert set().union(*(p.partitions for p in processes.values())) == EVERY_PARTITION
    counts = sorted(len(p.partitions) for p in processes.values())
    assert counts[0] >= 1
    assert counts[-1] == math.ceil(PARTITIONS / 3)


def test_processes_beating_at_the_same_moment_never_deadlock_or_overlap(engine: Engine):
    """Three processes renewing and taking overlapping names at once, from their own threads:
    no deadlock, no error, and what they end up owning is disjoint and complete."""
    clock = Clock(T0)
    processes = [process(engine, clock, name) for name in "abc"]
    start = threading.Barrier(len(processes))
    errors: list[BaseException] = []

    def beat_often(each: Ownership) -> None:
        start.wait()
        try:
            for _ in range(40):
                each.beat()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=beat_often, args=(each,)) for each in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for _ in range(2):  # names one gave up in its last beat are taken at the others' next
        for each in processes:
            each.beat()
    owned = [each.partitions for each in processes]
    assert set().union(*owned) == EVERY_PARTITION
    assert sum(len(partitions) for partitions in owned) == PARTITIONS


def test_a_long_dead_process_leaves_no_row_behind(engine: Engine):
    """Killed processes never give their own lease up: a living one deletes it an hour on."""
    clock = Clock(T0)
    dead, living = process(engine, clock, "dead"), process(engine, clock, "living")
    dead.beat()
    clock.advance(LEASE_SECONDS + 1)
    living.beat()
    assert "process:dead" not in living.leases.holders("process:")

    clock.advance(FORGET_DEAD_PROCESSES_SECONDS)
    living.beat()

    with engine.connect() as conn:
        names = set(conn.execute(sa.select(leases.c.name)).scalars())
    assert "process:dead" not in names
    assert "process:living" in names


def test_a_guild_is_on_the_discord_shard_discords_formula_names():
    # Discord: shard_id = (guild_id >> 22) % num_shards; no shard settings: the whole gateway.
    guild = (13 << 22) + 123  # 13 % 4 == 1
    assert [on_shard(guild, (n, 4)) for n in range(4)] == [False, True, False, False]
    assert on_shard(guild, None)
    assert sum(on_shard(g, (n, 3)) for g in range(0, 50 << 22, 1 << 22) for n in range(3)) == 50
