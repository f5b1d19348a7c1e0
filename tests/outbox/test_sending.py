"""Calls with no idempotency key whose client says when their request leaves
(``core/outbox/sending.py``), on SQLite and PostgreSQL: until it leaves, a call that runs out of
time, fails, is stopped or whose process is killed is made later as if never tried; once it may
have left, it ends uncertain however it fails, and is never made twice.

The partner here is a kind that waits, says its request goes out (as an HTTP client or the
Discord poster does, ``going_out``), then answers as scripted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.outbox import sending, store
from core.outbox.worker import Done, Kind, OutboxWorker, Refused
from tests.outbox.test_claims import beating, end_heartbeat
from tests.outbox.test_database_failures import FailingWrites
from tests.outbox.test_worker import T0, effect, queue, states
from tests.support.clock import Clock
from tests.support.waiting import eventually


class Poster:
    """Posts a line: ``before`` is awaited first (a rate limit's wait, say), then the request
    leaves, then ``answer`` is awaited and ``after`` raised, if any. ``posted`` holds each line
    that left."""

    def __init__(self) -> None:
        self.before, self.answer = asyncio.Event(), asyncio.Event()
        self.before.set()
        self.answer.set()
        self.waiting = asyncio.Event()
        self.after: BaseException | None = None
        self.swallows = False  # a client that turns every error into a refusal
        self.posted: list[str] = []

    async def post(self, guild_id: int, payload: dict[str, Any]) -> Done | Refused:
        self.waiting.set()
        await self.before.wait()
        try:
            await sending.going_out()
        except sending.NotSent as exc:
            if self.swallows:
                return Refused(f"error: {type(exc).__name__}")
            raise
        self.posted.append(payload["user"])
        await self.answer.wait()
        if self.after is not None:
            raise self.after
        return Done("posted")


def posting(
    engine: Engine, poster: Poster, clock: Clock, name: str = "bot", **options: Any
) -> OutboxWorker:
    """Process ``name``'s worker (its claims last while it beats) of ``poster``'s kind."""
    beating(engine, name)
    kind = Kind(poster.post, idempotent=False, says_when_sent=True)
    worker = OutboxWorker(engine, "helix", {"add": kind}, clock, poll_seconds=0.01, **options)
    worker.beat_by(name)
    return worker


async def test_a_call_out_of_time_before_its_request_left_is_made_later(engine: Engine):
    """A chat line that waited for its rate limit past the call's time: nothing was said."""
    poster, clock = Poster(), Clock(T0)
    poster.before.clear()
    worker = posting(engine, poster, clock, timeout_seconds=0.05)
    queue(engine, effect(1))

    assert await worker.run_once() == 1
    [(_, state, _, result)] = states(engine)
    assert (state, result) == ("pending", "no answer within 0.05 s")

    poster.before.set()
    clock.advance(60)
    assert await worker.run_once() == 1
    assert poster.posted == ["1"]
    assert states(engine) == [("add:1", "done", 2, "posted")]


async def test_a_call_that_failed_after_its_request_left_is_uncertain_and_never_made_again(
    engine: Engine,
):
    """A post went out and what followed failed (its answer, or recording it was posted): a
    second try would post it twice."""
    poster, clock = Poster(), Clock(T0)
    poster.after = ConnectionResetError("the connection dropped mid-answer")
    worker = posting(engine, poster, clock)
    queue(engine, effect(1))

    assert await worker.run_once() == 1
    clock.advance(3600)
    assert await worker.run_once() == 0

    assert poster.posted == ["1"]
    [(_, state, _, result)] = states(engine)
    assert state == "uncertain"
    assert str(result).startswith("failed after its request went out (ConnectionResetError")


async def test_a_call_that_failed_before_its_request_left_is_tried_again(engine: Engine):
    poster, clock = Poster(), Clock(T0)
    calls = 0

    async def post(guild_id: int, payload: dict[str, Any]) -> Done | Refused:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("the channel lookup failed")
        return await poster.post(guild_id, payload)

    worker = posting(engine, poster, clock)
    worker.kinds["add"] = Kind(post, idempotent=False, says_when_sent=True)
    queue(engine, effect(1))
    await worker.run_once()
    clock.advance(60)
    await worker.run_once()

    assert poster.posted == ["1"]
    assert [s[:2] for s in states(engine)] == [("add:1", "done")]


@pytest.mark.parametrize("request_left", [False, True])
async def test_a_killed_process_leaves_a_call_to_be_made_only_if_its_request_had_not_left(
    engine: Engine, request_left: bool
):
    poster, clock = Poster(), Clock(T0)
    if request_left:
        poster.answer.clear()  # the kill comes before the answer
    else:
        poster.before.clear()  # the kill comes while the call waits to post
    dying = posting(engine, poster, clock, name="dying")
    queue(engine, effect(1))
    running = asyncio.create_task(dying.run_once())
    if request_left:
        await eventually(lambda: poster.posted == ["1"], message="the post leaves")
    else:
        await eventually(poster.waiting.is_set, message="the call waits to post")
    running.cancel()  # as kill -9: nothing more is written
    await asyncio.gather(running, return_exceptions=True)
    end_heartbeat(engine, "dying")

    survivor_poster = Poster()
    survivor = posting(engine, survivor_poster, clock, name="survivor")
    assert await survivor.run_once() == 1

    if request_left:
        assert survivor_poster.posted == []
        assert [s[:2] for s in states(engine)] == [("add:1", "uncertain")]
    else:
        assert survivor_poster.posted == ["1"]
        assert [s[:2] for s in states(engine)] == [("add:1", "done")]


async def test_a_stop_while_a_call_waits_to_send_hands_it_on_unmade(engine: Engine):
    """The stop's grace ran out while the line waited for its rate limit: another process
    says it, rather than calling it uncertain."""
    poster, clock = Poster(), Clock(T0)
    poster.before.clear()
    stopping = posting(engine, poster, clock, name="stopping")
    queue(engine, effect(1))
    stop = asyncio.Event()
    running = asyncio.create_task(stopping.run(stop))
    await eventually(poster.waiting.is_set, message="the call waits to post")
    stop.set()
    await running  # cancelled after the stop's grace, its claim given back

    other_poster = Poster()
    assert await posting(engine, other_poster, clock, name="other").run_once() == 1
    assert other_poster.posted == ["1"]
    assert [s[:2] for s in states(engine)] == [("add:1", "done")]


@pytest.mark.parametrize("swallows", [False, True])
async def test_a_call_that_could_not_be_marked_in_flight_sends_nothing_and_is_tried_again(
    engine: Engine, swallows: bool
):
    """The database failed as the request was about to leave: it stays in, and the call is
    tried again later, even when the client made a refusal of the error."""
    poster, clock = Poster(), Clock(T0)
    poster.swallows = swallows
    worker = posting(engine, poster, clock)
    failing = FailingWrites(engine, marking_in_flight)
    failing.times = 1
    queue(engine, effect(1))

    await worker.run_once()
    assert failing.failed
    assert poster.posted == []
    [(_, state, _, result)] = states(engine)
    assert state == "pending"
    assert str(result).startswith("not sent: ")

    clock.advance(60)
    await worker.run_once()
    assert poster.posted == ["1"]
    assert [s[:2] for s in states(engine)] == [("add:1", "done")]


async def test_a_call_taken_over_before_its_request_left_is_left_to_its_new_worker(
    engine: Engine,
):
    """Its claim passed to another process while it waited: it sends nothing and records
    nothing; the other makes it once."""
    poster, clock = Poster(), Clock(T0)
    poster.before.clear()
    slow = posting(engine, poster, clock, name="slow")
    queue(engine, effect(1))
    [claimed] = slow._claim(slow.clock(), set())
    making = asyncio.create_task(slow._make(claimed))
    await eventually(poster.waiting.is_set, message="the call waits to post")
    end_heartbeat(engine, "slow")  # its claim is free: the other takes the call
    other_poster = Poster()
    assert await posting(engine, other_poster, clock, name="other").run_once() == 1

    poster.before.set()
    assert await making is False
    assert poster.posted == []
    assert other_poster.posted == ["1"]
    assert [s[:2] for s in states(engine)] == [("add:1", "done")]


def marking_in_flight(statement: str) -> bool:
    """The update that marks a call in flight, alone (not the start's claim renewal)."""
    sets = statement.split("WHERE")[0]
    return sets.startswith("UPDATE outbox SET result=") and "claimed" not in sets


def test_a_call_is_marked_in_flight_only_when_its_request_leaves(engine: Engine):
    """The claim's renewal at the start leaves the call unmarked for such a kind."""
    queue(engine, effect(1))
    with engine.begin() as conn:
        [call] = store.claim(conn, "helix", "w", T0, T0, 1)
        assert store.start(conn, call.id, "w", T0, in_flight=False)
        assert not store.claim(conn, "helix", "w", T0, T0, 1)[0].was_in_flight
        assert store.mark_in_flight(conn, call.id, "w")
        assert store.claim(conn, "helix", "w", T0, T0, 1)[0].was_in_flight
