"""Outbox claims follow the claiming process's heartbeat (core/ownership/claims.py), on SQLite
and PostgreSQL: a dead process's calls pass on once its lease runs out, a living one keeps its
call however long it hangs (up to the safety net), and a stopping worker gives its calls back.

The heartbeats are real leases on the wall clock; a process's death is its lease running out
(a lease of a fraction of a second, waited for), exactly as a killed process's 6 s one does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import system_clock
from core.outbox import store
from core.outbox.store import Effect
from core.outbox.worker import Kind, OutboxWorker
from core.ownership import claims
from core.ownership.leases import Leases
from core.ownership.share import Ownership
from core.storage.tables import outbox
from tests.outbox.test_worker import GUILD, T0, Partner, effect, queue, states
from tests.support.clock import Clock
from tests.support.waiting import eventually


def beating(engine: Engine, name: str, seconds: float = 60.0) -> Leases:
    """A process called ``name`` whose heartbeat lease was just renewed for ``seconds``."""
    leases = Leases(engine, name, system_clock, seconds=seconds)
    assert leases.hold([claims.process_lease(name)])
    return leases


def end_heartbeat(engine: Engine, name: str) -> None:
    """``name`` died: its heartbeat lease ends now, as another process's beat ends it once the
    dead one's life lock is gone (no clock moves, and no test waits on the machine's speed)."""
    Leases(engine, "survivor", system_clock, seconds=60).end_held_by([name])
    assert not beating_holders(engine, name)


def beating_holders(engine: Engine, name: str) -> dict[str, str]:
    return Leases(engine, "reader", system_clock, seconds=1).holders(claims.process_lease(name))


def process_worker(engine: Engine, clock: Clock, partner: Partner, name: str, **kinds: Kind):
    """A bot process's worker: its claims carry ``name`` and last while ``name`` beats."""
    making = OutboxWorker(engine, "helix", kinds or {"add": Kind(partner.call)}, clock)
    making.beat_by(name)
    return making


def claim_and_start(engine: Engine, making: OutboxWorker) -> None:
    """``making`` claims every due call and starts it: a process killed mid-call."""
    with engine.begin() as conn:
        for call in store.claim(conn, "helix", making.name, T0, T0 + making.lease, 10):
            store.start(conn, call.id, making.name, T0 + making.lease)


def test_the_heartbeat_lease_is_the_one_ownership_renews(engine: Engine) -> None:
    Ownership(Leases(engine, "bot-x", system_clock, seconds=8)).beat()
    assert claims.process_lease("bot-x") in beating_holders(engine, "bot-x")


async def test_a_dead_processs_calls_pass_on_when_its_heartbeat_runs_out(engine: Engine):
    """Also the embedded process restarted after a kill: its earlier self is the dead one."""
    clock = Clock(T0)
    queue(engine, effect(1, kind="add"), effect(2, kind="say"))
    beating(engine, "dead")
    claim_and_start(engine, process_worker(engine, clock, Partner(), "dead"))
    beating(engine, "living")
    partner = Partner()
    kinds = {"add": Kind(partner.call, idempotent=False), "say": Kind(partner.call)}
    other = process_worker(engine, clock, partner, "living", **kinds)

    end_heartbeat(engine, "dead")  # no clock moved: only the heartbeat ended
    assert await other.run_once() == 2

    assert partner.calls == [{"user": "2", "channel": "c1"}]  # the idempotent one, again
    assert states(engine) == [
        ("add:1", "uncertain", 2, "a worker stopped while making this call"),
        ("say:2", "done", 2, "ok"),
    ]


async def test_a_living_process_keeps_its_call_for_minutes_up_to_the_safety_net(engine: Engine):
    clock = Clock(T0)
    queue(engine, effect(1))
    beating(engine, "slow")
    claim_and_start(engine, process_worker(engine, clock, Partner(), "slow"))
    beating(engine, "other")
    partner = Partner()
    other = process_worker(engine, clock, partner, "other")

    clock.advance(timedelta(minutes=5).total_seconds())  # the call hangs in a living process
    assert await other.run_once() == 0
    clock.advance((claims.SAFETY_NET - timedelta(minutes=5)).total_seconds() + 1)
    assert await other.run_once() == 1  # stuck past the safety net: taken over

    assert states(engine) == [("add:1", "done", 2, "ok")]


async def test_a_worker_of_its_own_keeps_its_fixed_claim_without_a_heartbeat(engine: Engine):
    """A tool's or a test's worker never beat: its claim lasts its fixed time, no less."""
    clock = Clock(T0)
    queue(engine, effect(1))
    alone = OutboxWorker(engine, "helix", {"add": Kind(Partner().call)}, clock)
    claim_and_start(engine, alone)
    beating(engine, "other")
    other = process_worker(engine, clock, Partner(), "other")

    assert await other.run_once() == 0
    clock.advance(alone.lease.total_seconds() + 1)
    assert await other.run_once() == 1


async def test_a_dead_processs_guild_no_longer_holds_the_guilds_later_calls(engine: Engine):
    """A guild's calls go in order: its later call waits while the dead process holds an
    earlier one, and once that process's heartbeat ran out both are made, in order."""
    clock = Clock(T0)
    queue(engine, effect(1))
    beating(engine, "dead")
    with engine.begin() as conn:  # the first call claimed, never started
        assert len(store.claim(conn, "helix", "dead", T0, T0 + claims.SAFETY_NET, 1)) == 1
    queue(engine, effect(2))
    beating(engine, "living")
    partner = Partner()
    other = process_worker(engine, clock, partner, "living")

    assert await other.run_once() == 0  # held in order behind the dead process's call
    end_heartbeat(engine, "dead")
    assert await other.run_once() == 2
    assert partner.calls == [{"user": "1", "channel": "c1"}, {"user": "2", "channel": "c1"}]


async def making_a_hanging_call(
    engine: Engine, clock: Clock, name: str
) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Process ``name``'s worker, running, in its call to a partner that never answers; set
    the event to stop it."""
    beating(engine, name)
    hanging = Partner("hang")
    making = process_worker(engine, clock, hanging, name, add=Kind(hanging.call))
    stop = asyncio.Event()
    running = asyncio.create_task(making.run(stop))
    await eventually(lambda: bool(hanging.calls), within=30, message="the call starts")
    return stop, running


async def test_a_stopping_worker_gives_its_calls_back_at_once(engine: Engine):
    clock = Clock(T0)
    queue(engine, effect(1))
    stop, running = await making_a_hanging_call(engine, clock, "stopping")
    stop.set()
    await running  # the hanging call is cancelled after the stop's grace

    beating(engine, "other")
    partner = Partner()
    other = process_worker(engine, clock, partner, "other")
    assert await other.run_once() == 1  # "stopping" still beats: only the give-back freed it
    assert states(engine) == [("add:1", "done", 2, "ok")]


async def test_a_stopping_worker_gives_back_only_its_own_services_calls(engine: Engine):
    """A process's workers share its name: the chat worker stopping first must not hand the
    Helix worker's call, still being made, to another process (which would make it again,
    or call a payment made a moment ago "in doubt")."""
    clock = Clock(T0)
    queue(engine, effect(1), effect(2, service="chat"))
    stop_helix, making = await making_a_hanging_call(engine, clock, "stopping")
    chat = OutboxWorker(engine, "chat", {"add": Kind(Partner().call)}, clock)
    chat.beat_by("stopping")
    with engine.begin() as conn:  # the chat worker holds its own call, then stops
        assert [c.key for c in store.claim(conn, "chat", "stopping", T0, T0 + chat.lease, 5)]
    stop_chat = asyncio.Event()
    stop_chat.set()
    await chat.run(stop_chat)

    beating(engine, "other")
    other = process_worker(engine, clock, Partner(), "other")
    assert await other.run_once() == 0  # the Helix call is still "stopping"'s to finish
    with engine.connect() as conn:
        held = conn.execute(sa.select(outbox.c.service, outbox.c.claimed_by)).all()
    assert sorted(held) == [("chat", None), ("helix", "stopping")]
    stop_helix.set()
    await making


def test_two_processes_claiming_at_once_never_split_a_guilds_calls(postgres_engine: Engine):
    """Process A's claim takes a guild's first call and has not committed when process B
    claims: B waits for A's claim, then leaves that guild's second call alone (made in
    order, after the first), and takes another guild's."""
    engine = postgres_engine
    for name in ("a", "b"):
        beating(engine, name)
    queue(engine, effect(1), effect(2))  # guild GUILD, in this order
    queue(engine, Effect("helix", "add", GUILD + 1, "other:1", {"user": "9", "channel": "c2"}))
    until = T0 + claims.SAFETY_NET

    def claim_as_b() -> list[str]:
        with engine.begin() as b:
            taken = store.claim(b, "helix", "b", T0, until, 10, alive_at=system_clock())
            return [c.key for c in taken]

    with ThreadPoolExecutor(1) as pool, engine.connect() as a:
        with a.begin():
            taken = store.claim(a, "helix", "a", T0, until, 1, alive_at=system_clock())
            assert [c.key for c in taken] == ["add:1"]
            taken_by_b = pool.submit(claim_as_b)
            _wait_until(lambda: _lock_waiters(engine) > 0 or taken_by_b.done())
            assert not taken_by_b.done(), "B claimed while A's claim was not committed"
        # A committed as the block ended: B's claim goes on.
        assert taken_by_b.result(timeout=60) == ["other:1"]


def _lock_waiters(engine: Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return conn.exec_driver_sql(query).scalar_one()


def _wait_until(condition: Callable[[], bool], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "nothing happened in time"
        time.sleep(0.01)
