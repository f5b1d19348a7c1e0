"""Held calls, on SQLite and PostgreSQL: a held call is not made, and holds back none of its
guild's later calls, until released; a call not started yet may be replaced or dropped, one a
worker took up may not; what nothing released is forgotten by the prune."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from core.outbox import held, store
from tests.outbox.test_worker import T0, Partner, effect, queue, states, worker
from tests.support.clock import Clock


def hold(engine: Engine, *numbers: int) -> list[bool]:
    with engine.begin() as conn:
        return [held.hold(conn, effect(n), T0) for n in numbers]


async def test_a_held_call_is_made_only_once_released_and_holds_back_nothing(engine: Engine):
    partner = Partner()
    making = worker(engine, Clock(T0), partner)
    assert hold(engine, 1, 1) == [True, False]
    queue(engine, effect(2))

    await making.run_once()
    assert [call["user"] for call in partner.calls] == ["2"]  # not behind the held one
    with engine.begin() as conn:
        assert held.release(conn, "add:1", T0)
        assert not held.release(conn, "add:1", T0)  # released once
    await making.run_once()

    assert [call["user"] for call in partner.calls] == ["2", "1"]
    assert [(key, state) for key, state, _, _ in states(engine)] == [
        ("add:1", "done"),
        ("add:2", "done"),
    ]


async def test_a_call_not_started_is_replaced_or_dropped_but_not_one_made(engine: Engine):
    partner = Partner()
    hold(engine, 1)
    queue(engine, effect(2), effect(3))
    replacement = effect(9)
    with engine.begin() as conn:
        assert held.replace(conn, "add:1", replacement, T0)  # held: replaced, and pending
        assert held.drop(conn, "add:2", "not said", T0)  # pending, untouched: dropped
    await worker(engine, Clock(T0), partner).run_once()

    assert [call["user"] for call in partner.calls] == ["9", "3"]
    with engine.begin() as conn:
        assert held.find(conn, "add:1").payload["user"] == "9"  # type: ignore[union-attr]
        assert not held.replace(conn, "add:3", replacement, T0)  # made already
        assert not held.drop(conn, "add:3", "too late", T0)
        assert held.find(conn, "add:404") is None
    assert [(key, state, result) for key, state, _, result in states(engine)] == [
        ("add:1", "done", "ok"),
        ("add:2", "done", "not said"),
        ("add:3", "done", "ok"),
    ]


async def test_a_call_held_for_good_is_forgotten_by_the_prune(engine: Engine):
    hold(engine, 1)
    with engine.begin() as conn:
        assert store.prune(conn, T0) == 0  # held since T0, not before it
        assert store.prune(conn, T0 + timedelta(days=1)) == 1
        assert held.find(conn, "add:1") is None
