"""SQLite writers of one process queue on a first-come-first-served lock, never leak it."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.storage.db import FairLock


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_the_lock_goes_to_its_waiters_in_the_order_they_came():
    lock = FairLock()
    assert lock.acquire()
    order: list[int] = []

    def wait_then_note(n: int) -> None:
        lock.acquire()
        order.append(n)
        lock.release()

    threads = []
    for n in range(6):
        thread = threading.Thread(target=wait_then_note, args=(n,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=n: len(lock._waiters) == n + 1)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == list(range(6))
    assert lock.acquire(timeout=0)  # free again


def test_a_wait_that_times_out_leaves_the_queue():
    lock = FairLock()
    lock.acquire()
    assert lock.acquire(timeout=0.05) is False
    assert len(lock._waiters) == 0
    lock.release()
    assert lock.acquire(timeout=0)


def _write_from_another_thread(engine: Engine, value: str) -> bool:
    """True when another thread could write within 5 s (the lock was not left held)."""

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO probe VALUES (:v)"), {"v": value})

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(5)
    return not thread.is_alive()


def test_every_way_a_transaction_ends_lets_the_next_writer_in(sqlite_engine: Engine):
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (v TEXT UNIQUE)")
    assert _write_from_another_thread(sqlite_engine, "after commit")

    with pytest.raises(sa.exc.IntegrityError), sqlite_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO probe VALUES ('after commit')"))
    assert _write_from_another_thread(sqlite_engine, "after a failed statement")

    with sqlite_engine.connect() as conn:  # a read: autobegun, rolled back on close
        conn.execute(sa.text("SELECT count(*) FROM probe")).scalar_one()
    assert _write_from_another_thread(sqlite_engine, "after a read")

    with pytest.raises(RuntimeError), sqlite_engine.begin():
        raise RuntimeError("the caller's own error")
    assert _write_from_another_thread(sqlite_engine, "after the caller raised")
