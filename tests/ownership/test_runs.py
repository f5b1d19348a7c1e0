"""When a scheduled job is due, as every bot process reads it (``core/ownership/runs.py``), on
SQLite and PostgreSQL: once per interval whoever ran it last, at once after a run a killed
process left half done or a stop cut off, and not while a living process is still running it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from core.ownership import claims
from core.ownership.leases import Leases
from core.ownership.runs import JobRuns
from tests.support.clock import Clock

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BEAT = 2.0


def process(engine: Engine, name: str, clock: Clock) -> JobRuns:
    """Process ``name``, beating (its heartbeat lease runs 6 s from now)."""
    leases = Leases(engine, name, clock, seconds=6)
    assert leases.hold([claims.process_lease(name)])
    return JobRuns(leases, BEAT)


def test_a_job_never_run_is_due_at_once(engine: Engine):
    assert process(engine, "a", Clock(T0)).seconds_until_due("expiry") == 0


def test_a_job_that_ran_elsewhere_is_due_an_interval_after_that_run_ended(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, "a", clock), process(engine, "b", clock)
    a.started("expiry", 600)
    clock.advance(5)
    a.ended("expiry", 600, cut_off=False)
    clock.advance(10)

    assert b.seconds_until_due("expiry") == pytest.approx(590)
    assert b.seconds_until_due("drain") == 0  # each job keeps its own


def test_a_job_under_way_in_a_living_process_is_looked_at_again_after_a_heartbeat(
    engine: Engine,
):
    """That process lost the job and ends the run within its stop's grace: then the row says."""
    clock = Clock(T0)
    a, b = process(engine, "a", clock), process(engine, "b", clock)
    a.started("expiry", 600)

    assert b.seconds_until_due("expiry") == BEAT
    a.ended("expiry", 600, cut_off=False)
    assert b.seconds_until_due("expiry") == 600


def test_a_run_a_killed_process_left_is_due_at_once(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, "a", clock), process(engine, "b", clock)
    a.started("expiry", 600)

    clock.advance(6)  # a's heartbeat ran out: it died mid-run
    b.leases.hold([claims.process_lease("b")])
    assert b.seconds_until_due("expiry") == 0


def test_a_run_ended_by_a_process_that_died_later_keeps_its_interval(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, "a", clock), process(engine, "b", clock)
    a.started("expiry", 600)
    a.ended("expiry", 600, cut_off=False)

    clock.advance(60)  # a died after its run
    assert b.seconds_until_due("expiry") == 540


def test_a_run_a_stop_cut_off_is_due_at_once(engine: Engine):
    clock = Clock(T0)
    a, b = process(engine, "a", clock), process(engine, "b", clock)
    a.started("expiry", 600)
    clock.advance(5)
    a.ended("expiry", 600, cut_off=True)

    assert b.seconds_until_due("expiry") == 0


def test_a_process_whose_own_end_was_not_recorded_waits_for_the_interval(engine: Engine):
    """Its last run's end was lost (the database away): the run is over, it is not owed; the
    next is due an interval after the run's start."""
    clock = Clock(T0)
    a = process(engine, "a", clock)
    a.started("expiry", 600)
    clock.advance(timedelta(seconds=10).total_seconds())

    assert a.seconds_until_due("expiry") == 590
