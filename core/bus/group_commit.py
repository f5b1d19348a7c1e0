"""Group commit: one writer thread stores the writes of many callers in one transaction.

The web side's threads each hand their write (a function of a connection) to the writer and
wait. The writer takes whatever has queued up meanwhile (up to ``max_batch``), runs every write
in one transaction, commits, and only then answers each caller: a caller that returned has its
write committed (durable as the database makes commits durable), and a caller that raised had
nothing written.

If the transaction fails, every write of that batch is rolled back and each caller of that batch
gets the error, none of another batch. When the failure is a value one write brought
(:func:`~core.bus.base.is_event_fault`), the batch is tried again one write per transaction, so
that only that write's caller is refused and the others are stored.

Under light load a batch is one write, committed at once: nothing waits for company. Under load
the batch grows by itself with the time a commit takes, which is what amortises the commit and
the hand-over of SQLite's one writer lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.bus.base import is_event_fault

log = logging.getLogger(__name__)

Write = Callable[[Connection], Any]


class WriterClosed(Exception):
    """The writer was closed before this write could be stored (nothing was written)."""


class _Signal:
    """A one-shot wake-up: a lock held from the start, released once by ``set``.

    ``threading.Event`` wakes its waiter through a ``Condition`` (a lock, a waiters' deque and
    ``notify``), which py-spy found among the web side's largest costs at a thousand webhooks
    a second; releasing a plain lock is all a single waiter needs. ``set`` is called by one
    thread at a time (the leader) and ``wait`` by the job's own thread only.
    """

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()


class _Job:
    __slots__ = ("answered", "done", "error", "result", "write")

    def __init__(self, write: Write) -> None:
        self.write = write
        self.done = _Signal()  # answered, or made the leader
        self.answered = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommitter:
    """Leader and followers: no thread of its own, so a lone write pays no hand-over.

    A caller that finds nobody committing becomes the leader: it takes the queued writes (its
    own first) and commits them. Callers arriving meanwhile queue and wait; when the leader has
    answered its batch it makes the first of them the next leader, who takes everything queued
    by then in one transaction.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 256,
        after_commit: Callable[[], None] = lambda: None,
        name: str = "group-commit",
    ) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.after_commit = after_commit
        self.name = name
        self._mutex = threading.Lock()
        self._pending: list[_Job] = []
        self._leading = False
        self._closed = False
        self.batches = 0  # transactions tried, for tests and the benchmark
        self.largest_batch = 0

    def submit(self, write: Write) -> Any:
        """Run ``write(conn)`` in the next group transaction; return its result once committed.

        Raises what the write or the commit raised (nothing of this write is then stored).
        """
        job = _Job(write)
        with self._mutex:
            if self._closed:
                raise WriterClosed("the event writer is closed")
            self._pending.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            job.done.wait()
        if not job.answered:  # we lead: our job is the first queued
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        """Refuse new writes (those queued are still committed)."""
        with self._mutex:
            self._closed = True

    def _lead(self) -> None:
        with self._mutex:
            batch = self._pending[: self.max_batch]
            del self._pending[: len(batch)]
        try:
            self._commit(batch)
        finally:
            with self._mutex:
                if self._pending:
                    self._pending[0].done.set()  # the next leader
                else:
                    self._leading = False

    def _commit(self, batch: list[_Job]) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            self._transaction(batch)
        except Exception as exc:
            if len(batch) > 1 and is_event_fault(exc):
                # One write brought a value the store refuses: find it, store the others.
                for job in batch:
                    self._commit([job])
                return
            for job in batch:
                job.result, job.error = None, exc
                self._answer(job)
            return
        try:
            self.after_commit()
        except Exception:
            log.exception("%s: after-commit hook failed", self.name)
        for job in batch:
            self._answer(job)

    @staticmethod
    def _answer(job: _Job) -> None:
        job.answered = True
        job.done.set()

    def _transaction(self, batch: list[_Job]) -> None:
        with self.engine.begin() as conn:
            for job in batch:
                job.result = job.write(conn)
