"""What a partner's "try again in N s" does to a queued call, on SQLite and PostgreSQL: the
worker waits what it asks, within bounds. A wait that is absurd (a billion seconds, past the
year 9999, negative, not a number) neither parks the call for decades nor breaks the worker:
the call is made again within the worker's longest wait, and made once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.outbox.waits import MAX_WAIT_SECONDS
from core.outbox.worker import Done, Kind, OutboxWorker, Retry
from core.storage.tables import outbox
from tests.outbox.test_worker import T0, Partner, effect, queue, states
from tests.support.clock import Clock


def next_attempt(engine: Engine) -> tuple[str, object]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(outbox.c.state, outbox.c.next_attempt_at)).one()
    return row.state, row.next_attempt_at


@pytest.mark.parametrize(
    ("asked", "due_within"),
    [
        (30.0, (30.0, 30.0)),  # as asked
        (1e9, (MAX_WAIT_SECONDS, MAX_WAIT_SECONDS)),  # 31 years: the longest wait instead
        (1e12, (MAX_WAIT_SECONDS, MAX_WAIT_SECONDS)),  # past the year 9999
        (float("inf"), (MAX_WAIT_SECONDS, MAX_WAIT_SECONDS)),
        (float("nan"), (0.0, 2.0)),  # no wait said: the worker's first backoff
        (-5.0, (0.0, 2.0)),
    ],
    ids=["30s", "1e9", "1e12", "inf", "nan", "negative"],
)
async def test_a_partners_wait_is_honoured_within_bounds_and_the_call_made_once(
    engine: Engine, asked: float, due_within: tuple[float, float]
) -> None:
    clock = Clock(T0)
    partner = Partner(Retry("answered 429", after_seconds=asked), Done("posted"))
    making = OutboxWorker(engine, "helix", {"add": Kind(partner.call)}, clock)
    queue(engine, effect(1))

    await making.run_once()

    state, due = next_attempt(engine)
    assert state == "pending"
    low, high = due_within
    assert T0 + timedelta(seconds=low) <= due <= T0 + timedelta(seconds=high)
    clock.advance(high)
    await making.run_once()
    assert len(partner.calls) == 2
    assert states(engine) == [("add:1", "done", 2, "posted")]
