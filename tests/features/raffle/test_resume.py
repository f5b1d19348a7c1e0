"""A raffle close resumes after a kill at any step (issue 26, fault 1): the close and the next
period are one transaction, and the automatic draw is due until requested, so every period ends
drawn and a next one opens, and nothing is drawn twice. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.service import RaffleDraws
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.service import RafflePeriods
from tests.features.raffle.support import GUILD, make_service
from tests.support.clock import Clock

MARCH_END = datetime(2026, 4, 1, tzinfo=UTC)


class Killed(BaseException):
    """Stands for kill -9 at this step: what was committed stays, the rest of the run never
    happens (no ``except Exception`` catches it)."""


def kill_once(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[int]:
    """Make ``owner.name`` die the first time it is called; how often it was called."""
    real = getattr(owner, name)
    calls: list[int] = []

    def dying(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise Killed(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)
    return calls


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


def draws_of(engine, period_id: int) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return draws_repository.list_draws_of_period(conn, GUILD, period_id)


def state(raffle):  # type: ignore[no-untyped-def]
    info = raffle.views.info(GUILD)
    return info.last_closed, info.current


def test_killed_during_the_automatic_draw_the_next_run_draws_it(engine, clock, monkeypatch):
    raffle = make_service(engine, clock, auto_draw=True)
    march = raffle.periods.start(GUILD)
    clock.now = MARCH_END
    calls = kill_once(monkeypatch, RaffleDraws, "request")

    with pytest.raises(Killed):
        raffle.run_scheduled()  # closes March and opens April; the draw's request dies
    closed, current = state(raffle)
    assert (closed.id, current.starts_at) == (march.id, MARCH_END)
    assert closed.draw_due
    assert draws_of(engine, march.id) == []

    raffle.run_scheduled()
    raffle.run_scheduled()

    assert len(calls) == 2
    assert len(draws_of(engine, march.id)) == 1  # drawn once
    assert not state(raffle)[0].draw_due
    assert state(raffle)[1].id == current.id  # and no second April


def test_killed_while_the_next_period_is_created_nothing_was_closed(engine, clock, monkeypatch):
    raffle = make_service(engine, clock, auto_draw=True)
    march = raffle.periods.start(GUILD)
    clock.now = MARCH_END
    kill_once(monkeypatch, RafflePeriods, "_create")

    with pytest.raises(Killed):  # the close and April's creation are one transaction
        raffle.run_scheduled()
    closed, current = state(raffle)
    assert closed is None
    assert current.id == march.id

    raffle.run_scheduled()
    closed, current = state(raffle)
    assert closed.id == march.id
    assert current.starts_at == MARCH_END
    assert len(draws_of(engine, march.id)) == 1


def test_a_running_raffle_left_without_a_period_gets_its_next_one(engine, clock):
    raffle = make_service(engine, clock)
    march = raffle.periods.start(GUILD)
    clock.now = MARCH_END
    # What the former close could leave: March closed, the raffle running, April never made.
    raffle.periods._close(march, clock.now, march.ends_at)
    assert state(raffle)[1] is None

    raffle.run_scheduled()

    closed, current = state(raffle)
    assert closed.id == march.id
    assert (current.starts_at, current.status) == (MARCH_END, "open")


def test_without_automatic_draws_nothing_is_drawn_on_resume(engine, clock):
    raffle = make_service(engine, clock)
    march = raffle.periods.start(GUILD)
    clock.now = MARCH_END
    raffle.run_scheduled()
    raffle.run_scheduled()
    assert draws_of(engine, march.id) == []
    assert not state(raffle)[0].draw_due


def test_raffleend_killed_before_its_draw_draws_it_and_opens_nothing(engine, clock, monkeypatch):
    raffle = make_service(engine, clock, auto_draw=True)
    march = raffle.periods.start(GUILD)
    kill_once(monkeypatch, RaffleDraws, "request")

    with pytest.raises(Killed):
        raffle.periods.end(GUILD)
    raffle.run_scheduled()

    closed, current = state(raffle)
    assert closed.id == march.id
    assert current is None  # !raffleend stopped the schedule
    assert len(draws_of(engine, march.id)) == 1
    with engine.connect() as conn:
        assert not periods_repository.get_period(conn, march.id).draw_due


def test_two_processes_resuming_one_due_draw_make_one_draw(engine, clock, monkeypatch):
    """Process B reads that the period's automatic draw is due; before it asks for it, process A
    asks for it and its draw is done (the round was out). B's request found no draw waiting and
    drew again: a second automatic draw, one more winner announced. Whether it is still due is
    now read under the period's lock, in the request's own transaction."""
    from core.features.raffle.draws.service import RaffleDraws

    process_a = make_service(engine, clock, auto_draw=True)
    process_b = make_service(engine, clock, auto_draw=True)
    process_a.periods.start(GUILD)
    clock.now = MARCH_END
    with engine.begin() as conn:  # closed with its draw due, as a kill after the close leaves it
        march = periods_repository.find_open_period(conn, GUILD)
    kill_once(monkeypatch, RaffleDraws, "request")
    with pytest.raises(Killed):
        process_a.run_scheduled()
    monkeypatch.undo()
    real_request = RaffleDraws.request

    def b_asks_late(draws, *args, **kwargs):  # type: ignore[no-untyped-def]
        if draws is process_b.draws:  # A does it all between B's read and B's request
            process_a.periods.resume(clock.now)
            process_a.draws.force(GUILD, actor_id=1)
        return real_request(draws, *args, **kwargs)

    monkeypatch.setattr(RaffleDraws, "request", b_asks_late)
    process_b.periods.resume(clock.now)
    assert [(d.status, d.requested_by) for d in draws_of(engine, march.id)] == [("done", None)]
