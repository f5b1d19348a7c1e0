"""What the metrics read from the outbox at each scrape, on SQLite and PostgreSQL: the calls
waiting per service, and how late the most overdue one is (due and not made), never counting
one that waits for its next try or has ended."""

from __future__ import annotations

from datetime import timedelta

from core.outbox import store
from tests.outbox.test_worker import T0, effect, queue

SERVICES = ("helix", "discord")


def _counts(engine, now):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return (
            store.pending_by_service(conn, SERVICES),
            store.overdue_by_service(conn, SERVICES, now),
        )


def test_waiting_and_overdue_calls_per_service(engine):
    assert _counts(engine, T0) == ({"helix": 0, "discord": 0}, {"helix": 0.0, "discord": 0.0})
    queue(engine, effect(1), now=T0)
    queue(engine, effect(2), now=T0 + timedelta(seconds=20))
    queue(engine, effect(3, service="discord"), now=T0 + timedelta(seconds=50))
    pending, overdue = _counts(engine, T0 + timedelta(seconds=60))
    assert pending == {"helix": 2, "discord": 1}
    assert overdue == {"helix": 60.0, "discord": 10.0}
    # Not due yet at all (queued after "now"): waiting, not late.
    assert _counts(engine, T0 - timedelta(seconds=1))[1] == {"helix": 0.0, "discord": 0.0}


def test_a_call_waiting_for_its_next_try_or_ended_is_not_late(engine):
    queue(engine, effect(1), effect(2))
    later = T0 + timedelta(minutes=5)
    with engine.begin() as conn:
        first, second = store.claim(conn, "helix", "w", later, later + timedelta(minutes=1), 10)
        store.finish(conn, first.id, "w", store.DONE, "ok", later)
        store.retry_at(conn, second.id, "w", later + timedelta(minutes=2), "503")
    pending, overdue = _counts(engine, later + timedelta(minutes=1))
    assert (pending["helix"], overdue["helix"]) == (1, 0.0)
    pending, overdue = _counts(engine, later + timedelta(minutes=3))
    assert (pending["helix"], overdue["helix"]) == (1, 60.0)
