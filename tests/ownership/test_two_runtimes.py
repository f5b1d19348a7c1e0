"""Two bot processes' runtimes over one PostgreSQL database: each ticks the guilds of its own
partitions, the work after the tick runs in one of them, and a partition taken over from a
process that died before its tick is ticked at once for the instant it missed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.features.points import accrual
from core.features.slot_calls.posts import SlotCallPosts
from core.ownership.share import PARTITIONS, partition_of
from core.runtime import Runtime
from core.scheduler import AFTER_TICK
from tests.features.points.test_killed_after_a_tick import GUILD as VIEWERS_GUILD
from tests.features.points.test_killed_after_a_tick import VIEWERS, balances, chat, streaming
from tests.support.clock import Clock

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILDS = [(partition << 22) | 1 for partition in range(PARTITIONS)]


@pytest.fixture
def pair(make_runtime, request) -> tuple[Runtime, Runtime]:  # type: ignore[no-untyped-def]
    from tests.conftest import migrated_postgres_url

    url = migrated_postgres_url(request)
    a, b = make_runtime(DATABASE_URL=url), make_runtime(DATABASE_URL=url)
    for guild_id in GUILDS:
        a.guilds.ensure_guild(guild_id)
    return a, b


async def share(a: Runtime, b: Runtime) -> None:
    """Both start, then beat until balanced, as their heartbeats would."""
    await a.ownership.start()
    await b.ownership.start()
    for each in (a, b, a, b):
        each.ownership.beat()


def last_ticks(runtime: Runtime) -> dict[int, datetime | None]:
    return {g: runtime.watchtime.tracking_status(g).last_tick_at for g in GUILDS}


async def test_each_process_ticks_its_own_partitions_and_together_every_guild(pair):
    a, b = pair
    await share(a, b)
    a_guilds, b_guilds = set(a.ticks.guild_ids()), set(b.ticks.guild_ids())
    assert a_guilds | b_guilds == set(GUILDS)
    assert not a_guilds & b_guilds
    assert len(a_guilds) == len(b_guilds) == PARTITIONS // 2

    await a.scheduler.tick_once(T0)
    ticked = {g for g, at in last_ticks(a).items() if at == T0}
    assert ticked == a_guilds  # b's guilds wait for b

    await b.scheduler.tick_once(T0)
    assert set(last_ticks(a).values()) == {T0}


async def test_the_work_after_the_tick_runs_in_one_process(pair):
    a, b = pair
    ran: list[str] = []

    async def record(name: str) -> None:
        ran.append(name)

    a.scheduler.after_tick("recording", lambda: record("a"))
    b.scheduler.after_tick("recording", lambda: record("b"))
    # The jobs the scheduler would register before starting the ownership.
    a.ownership.jobs = b.ownership.jobs = [AFTER_TICK]
    await share(a, b)

    await a.scheduler.tick_once(T0)
    await b.scheduler.tick_once(T0)

    assert len(ran) == 1


async def test_partitions_taken_from_a_process_that_died_are_ticked_for_the_missed_instant(
    pair,
):
    a, b = pair
    await share(a, b)
    dead_guilds = set(b.ticks.guild_ids())
    await a.scheduler.tick_once(T0)  # b died before its tick at T0
    b.ownership.give_up()  # its leases gone (here at once; after a kill, 6 s later)

    gained = a.ownership.beat()
    assert {partition_of(g) for g in dead_guilds} == gained
    await a.ticks.catch_up(T0.replace(second=30), gained)

    assert set(last_ticks(a).values()) == {T0}
    await a.ticks.catch_up(T0.replace(second=45), gained)  # again: nothing moves twice
    assert set(last_ticks(a).values()) == {T0}
    assert await asyncio.to_thread(lambda: set(a.ticks.guild_ids())) == set(GUILDS)


async def test_points_for_watching_follow_each_process_own_tick(pair):
    """The process holding the work after the tick runs it before the other has ticked its
    guilds: each process earns its own guilds' points after its own tick, so none is missed."""
    a, b = pair
    a.ownership.jobs = b.ownership.jobs = [AFTER_TICK]  # as their schedulers register it
    await share(a, b)
    assert a.ownership.holds_job(AFTER_TICK) != b.ownership.holds_job(AFTER_TICK)
    first, second = (a, b) if a.ownership.holds_job(AFTER_TICK) else (b, a)
    for each in (first, second):
        await each.scheduler.tick_once(T0)  # the clocks start

    t1 = T0 + timedelta(minutes=1)
    await first.scheduler.tick_once(t1)  # its tick and all the work after it ...
    await second.scheduler.tick_once(t1)  # ... then the other's tick, later

    with a.engine.connect() as conn:
        earned = {g: accrual.earned_until(conn, g) for g in GUILDS}
    assert set(earned.values()) == {t1}


async def test_each_process_makes_the_discord_calls_of_its_own_shard(make_runtime, request):
    # Only the process connected to a guild's Discord shard can reach it: its Discord worker
    # takes that guild's calls, and its jobs post that guild's announcements and results.
    from tests.conftest import migrated_postgres_url
    from tests.features.slot_calls.conftest import RecordingPoster
    from tests.support.events import chat_message

    url = migrated_postgres_url(request)
    shards = [
        make_runtime(DATABASE_URL=url, DISCORD_SHARD_ID=str(n), DISCORD_SHARD_COUNT="2")
        for n in range(2)
    ]
    posters = [RecordingPoster(), RecordingPoster()]
    for runtime, poster in zip(shards, posters, strict=True):
        runtime.discord_calls.kinds.update(SlotCallPosts(runtime.slot_calls, poster).kinds())
    first = shards[0]
    for guild_id in GUILDS:
        first.slot_calls.set_enabled(guild_id, True)
        first.slot_calls.set_channel(guild_id, 5000 + (guild_id >> 22))
        said = chat_message(f"!call {guild_id}", at=T0, user_id=str(guild_id))
        assert first.slot_calls.request(guild_id, said, f"Slot {guild_id}").call is not None

    while sum([await runtime.discord_calls.run_once() for runtime in shards]):
        pass

    for n, (runtime, poster) in enumerate(zip(shards, posters, strict=True)):
        posted = sorted(call.guild_id for _, call, _ in poster.posts)
        assert posted == [g for g in GUILDS if (g >> 22) % 2 == n]
        assert all(runtime.on_discord_shard(g) == ((g >> 22) % 2 == n) for g in GUILDS)


async def test_a_runtime_closed_without_running_lets_go_of_its_life_line(pair):
    """A tool or a test that beat without running the heartbeat loop still closes its life
    connection with the runtime: the lock is free for the others to see, and no connection is
    left for the garbage collector to find open."""
    a, b = pair
    await share(a, b)
    assert b.ownership.lifeline is not None
    name = a.ownership.leases.holder
    assert b.ownership.lifeline.dead([name]) == set()

    a.close()

    assert b.ownership.lifeline.dead([name]) == {name}


async def test_a_takeover_earns_the_dead_process_last_tick_before_its_catch_up_tick(
    make_runtime, request
):
    """The other process died after its tick and before the points it earns: the process
    that takes its guilds over earns that tick first, then ticks the instant the dead one
    missed, so its viewers lose no minute of points."""
    from tests.conftest import migrated_postgres_url

    url = migrated_postgres_url(request)
    clock = Clock(T0)
    a, b = make_runtime(DATABASE_URL=url, clock=clock), make_runtime(DATABASE_URL=url, clock=clock)
    streaming(b)
    await share(a, b)
    if partition_of(VIEWERS_GUILD) not in b.ownership.partitions:  # the viewers' guild is b's
        a, b = b, a
    await b.scheduler.tick_once(T0)
    await chat(b)
    t1 = clock.advance(minutes=1)
    await b.ticks.run(t1, asyncio.Event())  # its tick, then kill -9
    b.ownership.give_up()  # its leases gone (here at once; after a kill, 6 s later)

    clock.advance(minutes=1, seconds=5)  # a's beat finds them after b's instant at t1 + 1 min
    gained = a.ownership.beat()
    assert partition_of(VIEWERS_GUILD) in gained
    await a.ownership.on_gain(gained)

    assert a.watchtime.tracking_status(VIEWERS_GUILD).last_tick_at == t1 + timedelta(minutes=1)
    assert balances(a) == dict.fromkeys(VIEWERS, 2)  # both minutes, each window posted
