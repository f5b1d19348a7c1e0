"""Outbox calls made to an end by a real worker, for tests of what is shown of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.outbox import store
from core.outbox.store import Effect
from core.outbox.worker import Kind, OutboxWorker, Outcome


async def end_calls(
    engine: Engine,
    clock: Callable[[], datetime],
    *calls: tuple[Effect, Outcome],
    step: timedelta = timedelta(0),
) -> None:
    """Queue each effect at ``clock()`` and let a worker of its service make it once, its
    partner answering ``outcome`` (a ``Retry`` ends the call failed: one try only); a test
    clock with ``advance`` moves ``step`` after each call."""
    for effect, outcome in calls:
        with engine.begin() as conn:
            store.enqueue(conn, effect, clock())

        async def answer(guild_id: int, payload: dict[str, object], outcome=outcome) -> Outcome:
            return outcome

        kinds = {effect.kind: Kind(answer)}
        making = OutboxWorker(engine, effect.service, kinds, clock, max_attempts=1)
        assert await making.run_once() == 1
        if step:
            clock.advance(step)  # type: ignore[attr-defined]
