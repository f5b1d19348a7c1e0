"""A guild's calls of a service go out in order when one of them is tried again, on SQLite and
PostgreSQL: a call to be tried again holds its guild's later calls (those claimed with it, and
those queued after it) until it ends, in every worker; it holds no other guild's, and a call
that ended for good holds nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.outbox import store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, OutboxWorker, Outcome, Refused, Retry, Uncertain
from core.storage.tables import outbox
from tests.outbox.test_claims import beating
from tests.outbox.test_worker import GUILD, T0, Partner, effect, queue, states, worker
from tests.support.clock import Clock
from tests.support.waiting import eventually

OTHER = GUILD + 1


def other_guilds(n: int) -> Effect:
    return Effect("helix", "add", OTHER, f"other:{n}", {"user": f"o{n}", "channel": "c2"})


def users(partner: Partner) -> list[str]:
    return [call["user"] for call in partner.calls]


async def test_a_guilds_later_call_waits_for_the_earlier_one_to_be_tried_again(engine: Engine):
    """Both claimed in one round: the first meets a rate limit, so the second is given back
    unspent (no attempt counted) and made after the first, not before."""
    clock = Clock(T0)
    partner = Partner(Retry("429", after_seconds=30))
    making = worker(engine, clock, partner)
    queue(engine, effect(1), effect(2))

    assert await making.run_once() == 2
    assert users(partner) == ["1"]
    assert states(engine) == [("add:1", "pending", 1, "429"), ("add:2", "pending", 0, None)]
    assert await making.run_once() == 0  # the second waits behind the first
    clock.advance(30)
    assert await making.run_once() == 2

    assert users(partner) == ["1", "1", "2"]
    assert states(engine) == [("add:1", "done", 2, "ok"), ("add:2", "done", 1, "ok")]


async def test_a_call_queued_while_an_earlier_one_waits_to_be_tried_again_does_not_overtake_it(
    engine: Engine,
):
    clock = Clock(T0)
    partner = Partner(Retry("429", after_seconds=30))
    making = worker(engine, clock, partner)
    queue(engine, effect(1))
    await making.run_once()  # the first meets a rate limit
    clock.advance(5)
    queue(engine, effect(2), now=clock())

    assert await making.run_once() == 0
    clock.advance(25)
    assert await making.run_once() == 2
    assert users(partner) == ["1", "1", "2"]


class LimitedForOne(Partner):
    """Rate-limits the first call for user ``"1"``, whichever guild's lane calls first (the
    lanes run side by side), and takes every other call."""

    async def call(self, guild_id: int, payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.calls.append(payload)
        if payload["user"] == "1" and self.answers:
            return self.answers.pop(0)
        return Done("ok")


async def test_a_guild_waiting_to_try_again_holds_no_other_guilds_calls(engine: Engine):
    clock = Clock(T0)
    partner = LimitedForOne(Retry("429", after_seconds=300))
    making = worker(engine, clock, partner)
    queue(engine, effect(1), other_guilds(1), effect(2), other_guilds(2))

    assert await making.run_once() == 4
    queue(engine, other_guilds(3))
    assert await making.run_once() == 1  # the other guild's new call, at once

    assert sorted(users(partner)) == ["1", "o1", "o2", "o3"]
    assert users(partner)[-1] == "o3"
    assert [state for _, state, *_ in states(engine)] == ["pending", "pending"]


@pytest.mark.parametrize(
    ("answer", "ended"),
    [
        (Refused("the user is banned in the channel"), "refused"),
        (Uncertain("no answer"), "uncertain"),
        (Retry("500 from Helix"), "failed"),  # the last attempt (max_attempts=1)
    ],
    ids=["refused", "uncertain", "failed"],
)
async def test_a_call_that_ended_for_good_does_not_hold_its_guild(
    engine: Engine, answer: Outcome, ended: str
):
    partner = Partner(answer)
    queue(engine, effect(1), effect(2))

    assert await worker(engine, Clock(T0), partner, max_attempts=1).run_once() == 2

    assert users(partner) == ["1", "2"]
    assert [state for _, state, *_ in states(engine)] == [ended, "done"]


async def test_a_call_that_keeps_asking_for_time_holds_its_guild_only_until_it_fails(
    engine: Engine,
):
    clock = Clock(T0)
    partner = Partner(Retry("429"), Retry("429"))
    making = worker(engine, clock, partner, max_attempts=2)
    queue(engine, effect(1), effect(2))

    await making.run_once()
    assert users(partner) == ["1"]
    clock.advance(2)  # the first backoff
    assert await making.run_once() == 2

    assert users(partner) == ["1", "1", "2"]
    assert [state for _, state, *_ in states(engine)] == ["failed", "done"]


def test_a_call_given_back_is_left_alone_once_another_worker_holds_it(engine: Engine):
    queue(engine, effect(1))
    with engine.begin() as conn:
        [call] = store.claim(conn, "helix", "first", T0, T0, 1)  # held until T0: run out
        [again] = store.claim(conn, "helix", "second", T0, T0.replace(hour=21), 1)
        assert again.id == call.id

        assert store.give_back(conn, [call.id], "first") == 0
    assert states(engine) == [("add:1", "pending", 2, None)]


async def test_two_processes_side_by_side_keep_a_guilds_calls_in_order(engine: Engine):
    """Two bot processes' workers run at once, one call per claim: while the guild's first
    call waits to be tried again, neither makes the guild's later call (its id is older than
    the other guild's calls they make meanwhile, so a worker that could take it would)."""
    clock = Clock(T0)
    limited = ["1"]  # the first call meets a rate limit once
    said: list[str] = []

    async def call(guild_id: int, payload: dict[str, Any]) -> Outcome:
        if payload["user"] in limited:
            limited.remove(payload["user"])
            return Retry("429", after_seconds=30)
        said.append(payload["user"])
        return Done("ok")

    makers = []
    for name in ("bot-a", "bot-b"):
        beating(engine, name)
        making = OutboxWorker(
            engine, "helix", {"add": Kind(call)}, clock, batch=1, poll_seconds=0.01
        )
        making.beat_by(name)
        makers.append(making)
    queue(engine, effect(1))
    stop = asyncio.Event()
    running = [asyncio.create_task(making.run(stop)) for making in makers]
    try:
        await eventually(lambda: _waiting(engine, "add:1"), within=30, message="a retry")
        queue(engine, effect(2), now=clock())
        queue(engine, other_guilds(1), other_guilds(2), now=clock())
        await eventually(lambda: {"o1", "o2"} <= set(said), within=30)
        assert "2" not in said
        clock.advance(30)
        await eventually(lambda: {"1", "2"} <= set(said), within=30)
    finally:
        stop.set()
        await asyncio.gather(*running)

    assert [user for user in said if user in {"1", "2"}] == ["1", "2"]


def _waiting(engine: Engine, key: str) -> bool:
    """Whether the call ``key`` is pending, claimed by no worker, to be tried again."""
    o = outbox.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(o.state, o.claimed_by, o.attempts).where(o.effect_key == key)
        ).one()
    return row.state == "pending" and row.claimed_by is None and row.attempts == 1
