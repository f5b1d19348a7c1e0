"""The embedded bus's group commit: many webhooks' appends in one transaction, each caller
answered only after its batch committed, a failed batch failing exactly its own callers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.bus.base import BusUnavailable
from core.bus.embedded import EmbeddedBus
from core.bus.group_commit import GroupCommitter
from core.storage.tables import bus_events, webhook_receipts
from tests.bus import make_event

_ROWS = sa.table("probe", sa.column("name"))


@pytest.fixture
def probe_engine(sqlite_engine: Engine) -> Engine:
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (name TEXT NOT NULL UNIQUE)")
    return sqlite_engine


def _names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(_ROWS.c.name)).scalars())


def _add(name: str, then: Callable[[], None] = lambda: None) -> Callable[[Connection], str]:
    def write(conn: Connection) -> str:
        conn.execute(sa.insert(_ROWS).values(name=name))
        then()
        return name

    return write


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def _submit_all(
    committer: GroupCommitter, writes: dict[str, Callable[[Connection], str]]
) -> tuple[dict[str, object], list[threading.Thread]]:
    """Submit each write from its own thread; the outcomes fill in as they are answered."""
    outcomes: dict[str, object] = {}

    def run(name: str, write: Callable[[Connection], str]) -> None:
        try:
            outcomes[name] = committer.submit(write)
        except Exception as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=item) for item in writes.items()]
    for thread in threads:
        thread.start()
    return outcomes, threads


def _batch_behind_a_leader(
    committer: GroupCommitter, writes: dict[str, Callable[[Connection], str]]
) -> tuple[dict[str, object], dict[str, object]]:
    """A first write ("leader") holds its transaction open until all of ``writes`` have
    queued behind it, so that they are committed together in the next transaction."""
    queued = threading.Event()
    lead, lead_threads = _submit_all(committer, {"leader": _add("leader", queued.wait)})
    _wait_for(lambda: committer.batches == 1)
    outcomes, threads = _submit_all(committer, writes)
    _wait_for(lambda: len(committer._pending) == len(writes))
    queued.set()
    for thread in [*lead_threads, *threads]:
        thread.join(10)
    return lead, outcomes


def test_writes_queued_while_one_commits_are_committed_together(probe_engine: Engine):
    committer = GroupCommitter(probe_engine)
    names = [f"w{i}" for i in range(20)]

    lead, outcomes = _batch_behind_a_leader(committer, {n: _add(n) for n in names})

    assert lead == {"leader": "leader"}
    assert outcomes == {n: n for n in names}  # each caller gets its own write's result
    assert (committer.batches, committer.largest_batch) == (2, 20)
    assert _names(probe_engine) == {"leader", *names}


def test_a_caller_is_answered_only_after_its_batch_committed(probe_engine: Engine):
    committer = GroupCommitter(probe_engine)

    def write(conn: Connection) -> str:
        conn.execute(sa.insert(_ROWS).values(name="mine"))
        return "written"

    assert committer.submit(write) == "written"
    # Answered: another connection sees the row, so it is committed, not merely written.
    assert _names(probe_engine) == {"mine"}


def test_a_failed_batch_fails_exactly_its_callers_and_writes_none_of_them(probe_engine: Engine):
    committer = GroupCommitter(probe_engine)

    def store_down(conn: Connection) -> str:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    writes = {"a": _add("a"), "b": _add("b"), "broken": store_down, "c": _add("c")}
    lead, outcomes = _batch_behind_a_leader(committer, writes)
    after = committer.submit(_add("after"))

    assert lead == {"leader": "leader"}  # the batch before: committed
    assert after == "after"  # the batch after: committed
    assert set(outcomes) == set(writes)
    assert all(isinstance(outcome, sa.exc.OperationalError) for outcome in outcomes.values())
    assert _names(probe_engine) == {"leader", "after"}  # nothing of the failed batch, not "a"


def test_a_value_the_store_refuses_fails_only_the_write_that_brought_it(probe_engine: Engine):
    committer = GroupCommitter(probe_engine)

    def lone_surrogate(conn: Connection) -> str:
        conn.execute(sa.insert(_ROWS).values(name="bad\ud800"))
        return "never"

    writes = {"a": _add("a"), "bad": lone_surrogate, "b": _add("b")}
    _, outcomes = _batch_behind_a_leader(committer, writes)

    assert outcomes["a"] == "a"
    assert outcomes["b"] == "b"
    assert isinstance(outcomes["bad"], Exception)
    assert _names(probe_engine) == {"leader", "a", "b"}


# --- the embedded bus on it ------------------------------------------------------------------


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_message_id_twice_in_one_batch_is_stored_once_and_answered_duplicate(
    sqlite_engine: Engine,
):
    bus = EmbeddedBus(sqlite_engine)
    writer = bus._writer
    first, second = make_event("one"), make_event("two")
    other = make_event("other")
    lead_gate = threading.Event()
    results: dict[str, object] = {}

    def hold(conn: Connection) -> str:
        lead_gate.wait()
        return "leader"

    def leader() -> None:
        results["leader"] = writer.submit(hold)

    threads = [threading.Thread(target=leader)]
    threads[0].start()
    _wait_for(lambda: writer.batches == 1)

    def deliver(name: str, event, message_id: str) -> None:
        results[name] = bus.publish_delivery(event, message_id)

    for name, event, message_id in (
        ("first", first, "msg-1"),
        ("same id", second, "msg-1"),  # Kick's retry under a new event? same id: no effect
        ("same event", first, "msg-2"),  # the same event under another id: no effect
        ("other", other, "msg-3"),
    ):
        thread = threading.Thread(target=deliver, args=(name, event, message_id))
        thread.start()
        threads.append(thread)
        queued = len(threads) - 1
        _wait_for(lambda queued=queued: len(writer._pending) == queued)
    lead_gate.set()
    for thread in threads:
        thread.join(10)

    assert writer.largest_batch == 4  # all four in one transaction
    assert results == {
        "leader": "leader",
        "first": True,
        "same id": False,
        "same event": False,
        "other": True,
    }
    assert _count(sqlite_engine, bus_events) == 2
    with sqlite_engine.connect() as conn:
        ids = set(conn.execute(sa.select(webhook_receipts.c.message_id)).scalars())
    assert ids == {"msg-1", "msg-3"}  # msg-2 was not remembered: its event was a duplicate
    bus.close()


def test_a_failed_append_answers_unavailable_and_remembers_nothing(sqlite_engine: Engine):
    bus = EmbeddedBus(sqlite_engine)
    with sqlite_engine.begin() as conn:  # the queue's table is gone: every append fails
        conn.exec_driver_sql("ALTER TABLE bus_events RENAME TO bus_events_away")

    with pytest.raises(BusUnavailable):
        bus.publish_delivery(make_event(), "msg-1")

    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE bus_events_away RENAME TO bus_events")
    assert _count(sqlite_engine, webhook_receipts) == 0  # its retry will be accepted
    assert bus.publish_delivery(make_event(), "msg-1") is True
    bus.close()
