"""The outbox on SQLite and PostgreSQL: a call queued in a handler's transaction is made once,
paced, retried with backoff, and ends in a state that says what happened."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.outbox import deadline, store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, OutboxWorker, Refused, Retry
from core.storage.tables import outbox
from tests.support.clock import Clock
from tests.support.waiting import eventually

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD = 111


class Partner:
    """An outside service as a worker sees it: answers scripted per call, calls recorded."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    async def call(self, guild_id: int, payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.calls.append(payload)
        answer = self.answers.pop(0) if self.answers else Done("ok")
        if isinstance(answer, BaseException):
            raise answer
        if answer == "hang":
            await asyncio.sleep(3600)
        return answer


def queue(engine: Engine, *effects: Effect, now: datetime = T0) -> list[bool]:
    with engine.begin() as conn:
        return [store.enqueue(conn, effect, now) for effect in effects]


def effect(n: int = 1, kind: str = "add", service: str = "helix") -> Effect:
    return Effect(service, kind, GUILD, f"{kind}:{n}", {"user": str(n), "channel": "c1"})


def states(engine: Engine) -> list[tuple[str, str, int, str | None]]:
    with engine.connect() as conn:
        return [
            (s.key, s.state, s.attempts, s.result) for s in reversed(store.of_guild(conn, GUILD))
        ]


def worker(engine: Engine, clock: Clock, partner: Partner, **options: Any) -> OutboxWorker:
    kinds = options.pop("kinds", None) or {"add": Kind(partner.call)}
    return OutboxWorker(engine, "helix", kinds, clock, **options)


async def test_a_call_queued_twice_is_made_once_and_done(engine: Engine):
    partner = Partner()
    assert queue(engine, effect(1), effect(1)) == [True, False]

    assert await worker(engine, Clock(T0), partner).run_once() == 1

    assert partner.calls == [{"user": "1", "channel": "c1"}]
    assert states(engine) == [("add:1", "done", 1, "ok")]
    assert await worker(engine, Clock(T0), partner).run_once() == 0


async def test_a_failing_call_is_retried_with_backoff_then_done(engine: Engine):
    clock = Clock(T0)
    partner = Partner(RuntimeError("500 from Helix"), Retry("429", after_seconds=30), Done())
    making = worker(engine, clock, partner)
    queue(engine, effect(1))

    await making.run_once()  # fails: due again after the first backoff (2 s)
    assert await making.run_once() == 0
    clock.advance(2)
    await making.run_once()  # 429: the service said when
    clock.advance(29)
    assert await making.run_once() == 0
    clock.advance(1)
    await making.run_once()

    assert len(partner.calls) == 3
    assert states(engine) == [("add:1", "done", 3, "")]


async def test_a_refusal_is_final_with_the_services_reason(engine: Engine):
    partner = Partner(Refused("the user is banned in the channel"))
    queue(engine, effect(1))
    await worker(engine, Clock(T0), partner).run_once()
    assert states(engine) == [("add:1", "refused", 1, "the user is banned in the channel")]


async def test_a_call_that_keeps_failing_ends_failed_after_the_most_attempts(engine: Engine):
    clock = Clock(T0)
    partner = Partner(*[RuntimeError("500")] * 10)
    making = worker(engine, clock, partner, max_attempts=3)
    queue(engine, effect(1))
    for _ in range(5):
        await making.run_once()
        clock.advance(600)

    assert len(partner.calls) == 3
    [(key, state, attempts, result)] = states(engine)
    assert (key, state, attempts) == ("add:1", "failed", 3)
    assert str(result).startswith("gave up after 3 attempts")


async def test_a_call_without_an_answer_is_uncertain_when_the_service_has_no_idempotency_key(
    engine: Engine,
):
    partner = Partner("hang")
    kinds = {"add": Kind(partner.call, idempotent=False)}
    queue(engine, effect(1))

    await worker(engine, Clock(T0), partner, kinds=kinds, timeout_seconds=0.05).run_once()

    [(_, state, attempts, result)] = states(engine)
    assert (state, attempts) == ("uncertain", 1)
    assert result == "no answer within 0.05 s"


async def test_a_dead_workers_call_passes_to_another_after_its_lease(engine: Engine):
    clock = Clock(T0)
    queue(engine, effect(1, kind="add"), effect(2, kind="say"))
    dead = worker(engine, clock, Partner())
    with engine.begin() as conn:  # it claimed both and started both calls, then was killed
        claimed = store.claim(conn, "helix", dead.name, T0, T0 + dead.lease, 10)
        for call in claimed:
            store.start(conn, call.id, dead.name, T0 + dead.lease)
    partner = Partner()
    kinds = {"add": Kind(partner.call, idempotent=False), "say": Kind(partner.call)}
    other = worker(engine, clock, partner, kinds=kinds)

    assert await other.run_once() == 0  # the lease still runs
    clock.advance(dead.lease.total_seconds() + 1)
    assert await other.run_once() == 2

    assert partner.calls == [{"user": "2", "channel": "c1"}]  # the idempotent one, again
    assert states(engine) == [
        ("add:1", "uncertain", 2, "a worker stopped while making this call"),
        ("say:2", "done", 2, "ok"),
    ]


async def test_a_chain_continues_in_the_same_transaction_as_the_outcome(engine: Engine):
    partner = Partner(Refused("not a VIP slot left"))

    def then(guild_id: int, payload: dict[str, Any], outcome) -> list[Effect]:  # type: ignore[no-untyped-def]
        status = "FULFILLED" if isinstance(outcome, Done) else "CANCELED"
        return [Effect("helix", "status", guild_id, f"status:{payload['user']}", {"to": status})]

    statuses = Partner()
    kinds = {"add": Kind(partner.call, then=then), "status": Kind(statuses.call)}
    queue(engine, effect(7))
    making = worker(engine, Clock(T0), partner, kinds=kinds)

    await making.run_once()
    await making.run_once()

    assert statuses.calls == [{"to": "CANCELED"}]
    assert [s[:2] for s in states(engine)] == [("add:7", "refused"), ("status:7", "done")]


async def test_an_unknown_kind_is_refused_not_retried(engine: Engine):
    queue(engine, effect(1, kind="mystery"))
    await worker(engine, Clock(T0), Partner()).run_once()
    assert states(engine)[0][:2] == ("mystery:1", "refused")


async def test_workers_of_other_services_leave_the_call_alone(engine: Engine):
    queue(engine, effect(1, service="discord"))
    assert await worker(engine, Clock(T0), Partner()).run_once() == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.state)).scalar_one() == "pending"


@pytest.mark.parametrize("workers", [2])
async def test_two_workers_never_make_the_same_call(engine: Engine, workers: int):
    queue(engine, *(effect(n) for n in range(30)))
    partner = Partner()
    clock = Clock(T0)
    making = [worker(engine, clock, partner) for _ in range(workers)]

    while sum(await asyncio.gather(*(w.run_once() for w in making))):
        pass

    assert sorted(int(call["user"]) for call in partner.calls) == list(range(30))
    assert {state for _, state, _, _ in states(engine)} == {"done"}


def test_leases_are_short(engine: Engine):
    assert worker(engine, Clock(T0), Partner()).lease <= timedelta(seconds=20)


async def test_calls_that_ended_a_month_ago_are_forgotten_and_pending_ones_kept(engine: Engine):
    clock = Clock(T0)
    queue(engine, effect(1), effect(2, kind="other"))
    await worker(engine, clock, Partner()).run_once()  # add:1 done (other:2 refused: reset)
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.effect_key == "other:2").values(
            state="pending", finished_at=None, result=None))  # fmt: skip
    clock.advance(days=31)
    stop = asyncio.Event()
    making = worker(engine, clock, Partner(), kinds={"add": Kind(Partner().call)})
    run = asyncio.create_task(making.run(stop))
    await asyncio.sleep(0.2)
    stop.set()
    await run

    assert [key for key, *_ in states(engine)] == ["other:2"]


async def test_a_guild_whose_partner_hangs_holds_only_its_own_lane_while_the_worker_runs(
    engine: Engine,
):
    """The running worker keeps claiming: a call queued for another guild after the hang
    began is made at once, not after the hung call's timeout."""
    hung = asyncio.Event()
    release = asyncio.Event()
    made: list[int] = []

    async def call(guild_id: int, payload: dict[str, Any]) -> Done:
        if guild_id == GUILD:
            hung.set()
            await release.wait()
        made.append(guild_id)
        return Done("ok")

    other = GUILD + 1
    queue(engine, effect(1))
    # The hung call's timeout is far past the bounds below: the other call is made while the
    # first still hangs (5 s bounds against the default 10 s timeout were tight on PostgreSQL).
    making = OutboxWorker(
        engine, "helix", {"add": Kind(call)}, Clock(T0), poll_seconds=0.01, timeout_seconds=120
    )
    stop = asyncio.Event()
    running = asyncio.create_task(making.run(stop))
    try:
        await asyncio.wait_for(hung.wait(), timeout=30)
        queue(engine, Effect("helix", "add", other, "add:other", {"user": "2"}))
        await eventually(lambda: made == [other], within=30)
        assert [s.state for s in outbox_rows(engine, GUILD)] == ["pending"]  # still in flight
        release.set()
        await eventually(lambda: made == [other, GUILD], within=30)
    finally:
        release.set()
        stop.set()
        await running


async def test_a_call_whose_claim_passed_to_another_worker_is_not_made_twice(engine: Engine):
    """A worker's claim ran out while the call waited behind its guild's earlier ones, and
    another worker claimed it: the first one leaves it to the second."""
    clock = Clock(T0)
    first, second = Partner(), Partner()
    slow, fast = worker(engine, clock, first), worker(engine, clock, second)
    queue(engine, effect(1))
    [claimed] = slow._claim(clock(), set())  # the first worker took it ...
    clock.advance(slow.lease.total_seconds() + 1)  # ... and waited past its lease
    assert await fast.run_once() == 1

    await slow._make(claimed)

    assert first.calls == []
    assert second.calls == [{"user": "1", "channel": "c1"}]
    assert states(engine) == [("add:1", "done", 2, "ok")]  # claimed twice, made once


def outbox_rows(engine: Engine, guild_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(store.of_guild(conn, guild_id))


async def test_a_guild_whose_call_another_worker_holds_waits_for_it_across_processes(
    engine: Engine,
):
    """Two processes' workers: while one makes a guild's first call, the other takes none of
    that guild's later calls (they would overtake it), only other guilds'."""
    clock = Clock(T0)
    queue(engine, effect(1), effect(2), Effect("helix", "add", GUILD + 1, "add:other", {}))
    first, second = Partner(), Partner()
    holder, other = worker(engine, clock, first, batch=1), worker(engine, clock, second)
    [held] = holder._claim(clock(), set())  # the oldest call of GUILD, held and under way

    assert await other.run_once() == 1
    assert second.calls == [{}]  # the other guild's call only

    await holder._make(held)
    assert await other.run_once() == 1  # GUILD's next call, once the first has ended
    assert second.calls == [{}, {"user": "2", "channel": "c1"}]
    assert first.calls == [{"user": "1", "channel": "c1"}]


async def test_a_sharded_worker_makes_only_its_own_shards_calls(engine: Engine):
    # Discord's shard of a guild is (guild_id >> 22) % shard count: a process connected to one
    # shard cannot post in the other's guilds, so its worker leaves their calls alone.
    guilds = [(n << 22) + 7 for n in range(6)]  # shards 0, 1, 0, 1, 0, 1 of 2
    with engine.begin() as conn:
        for guild_id in guilds:
            call = Effect("helix", "add", guild_id, f"add:{guild_id}", {"guild": guild_id})
            store.enqueue(conn, call, T0)
    shard_one, shard_zero = Partner(), Partner()
    clock = Clock(T0)

    assert await worker(engine, clock, shard_one, shard=(1, 2)).run_once() == 3
    assert sorted(call["guild"] for call in shard_one.calls) == guilds[1::2]
    assert await worker(engine, clock, shard_one, shard=(1, 2)).run_once() == 0

    assert await worker(engine, clock, shard_zero, shard=(0, 2)).run_once() == 3
    assert sorted(call["guild"] for call in shard_zero.calls) == guilds[0::2]


def test_pruning_forgets_old_ended_calls_but_keeps_the_uncertain_ones(engine):
    """An uncertain call waits for a person to settle it, however old (payments in doubt)."""
    queue(engine, *(effect(n) for n in range(1, 5)))
    ended = {"add:1": store.DONE, "add:2": store.REFUSED, "add:3": store.UNCERTAIN}
    with engine.begin() as conn:
        for key, state in ended.items():
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.effect_key == key)
                .values(state=state, finished_at=T0)
            )
        assert store.prune(conn, T0 + timedelta(days=31)) == 2
    assert [(key, state) for key, state, *_ in states(engine)] == [
        ("add:3", store.UNCERTAIN),
        ("add:4", store.PENDING),
    ]


async def test_a_call_has_the_workers_time_limit_and_nothing_outside_it(engine: Engine):
    """The worker's ``timeout_seconds`` is the call's (``core/outbox/deadline.py``): what the
    call awaits knows whether a wait still fits; outside a call nothing is limited."""
    seen: list[tuple[bool, bool]] = []

    async def run(guild_id: int, payload: dict[str, Any]) -> Done:
        seen.append((deadline.allows(1.0), deadline.allows(300.0)))
        return Done()

    queue(engine, effect(1))
    worker = OutboxWorker(engine, "helix", {"add": Kind(run)}, Clock(T0), timeout_seconds=100)
    assert await worker.run_once() == 1

    assert seen == [(True, False)]
    assert deadline.allows(10**6)
