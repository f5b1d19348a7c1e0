"""Which guild's live topics a transaction changed, and the publisher that tells the web side.

A repository marks a change on the connection it writes with (:func:`touch`);
:func:`watch_commits` hands the marks of a committed transaction to the :class:`LiveNotifier`
once the commit has returned, and a rolled back one drops them. So a feature adds one call where
it writes, never a call to the web. The notifier coalesces: ``changed`` only adds to a set; a
background thread publishes what piled up every ``interval`` seconds (1 s: a burst of chat
events is one note per guild and topic a second, whatever the webhook rate, which is what keeps
a hundred open dashboards from costing the webhooks anything measurable: docs/performance.md).
The thread keeps its own rhythm, so a note may leave at once after its commit: it is never
handed over before the change is readable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)

TOPICS = ("vip", "events", "raffle", "heist", "alerts", "goal")
_MARKS = "live_changes"
_COMMITTING = "live_changes_committing"
Change = tuple[int, str]  # (guild id, topic)


def touch(conn: Connection, guild_id: int, topic: str) -> None:
    """Note that this transaction changes ``topic`` of ``guild_id``; told once it commits."""
    conn.info.setdefault(_MARKS, set()).add((guild_id, topic))


class LiveBackend(Protocol):
    """Gives each change its number and delivers it to every web process."""

    def publish(self, changes: Iterable[Change]) -> None: ...


class LiveNotifier:
    def __init__(self, backend: LiveBackend, interval: float = 1.0) -> None:
        self.backend = backend
        self.interval = interval
        self._pending: set[Change] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def changed(self, guild_id: int, topic: str) -> None:
        self.changed_many([(guild_id, topic)])

    def changed_many(self, changes: Iterable[Change]) -> None:
        with self._lock:
            self._pending.update(changes)
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="live", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Publish what is pending now (the thread does this every ``interval``)."""
        with self._lock:
            pending, self._pending = self._pending, set()
        if pending:
            try:
                self.backend.publish(sorted(pending))
            except Exception:  # a live note is a nicety: never worth failing the change
                log.warning("live updates not published", exc_info=True)

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            self.flush()
        self.flush()

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)


def watch_commits(engine: Engine, notify: Callable[[Iterable[Change]], None]) -> None:
    """Once each commit on ``engine`` has returned, ``notify`` the changes its transaction
    touched; a rollback drops them.

    SQLAlchemy's ``commit`` event fires before the driver's commit, and no event fires after it:
    there the marks are only put aside, and they are handed over when the connection next begins
    a transaction or goes back to the pool, both after the commit returned (a note told earlier
    reached a PostgreSQL reader before the change did: the alerts overlay read nothing, moved
    its number on, and showed the alert only with the next one). A commit that fails is told
    too: it may have happened, and a note for nothing only costs a reader one read.
    """

    def committing(conn: Connection) -> None:
        marks = conn.info.pop(_MARKS, None)
        if marks:
            conn.info.setdefault(_COMMITTING, set()).update(marks)

    def hand_over(info: dict[Any, Any]) -> None:
        marks = info.pop(_COMMITTING, None)
        if marks:
            try:
                notify(marks)
            except Exception:  # a live note is a nicety: never worth failing the connection
                log.warning("live changes not handed over", exc_info=True)

    def begun(conn: Connection) -> None:
        hand_over(conn.info)

    def checked_in(_dbapi_connection: object, record: ConnectionPoolEntry | None) -> None:
        if record is not None:
            hand_over(record.info)

    def failed(context: ExceptionContext) -> None:
        if context.connection is not None:
            hand_over(context.connection.info)  # before an invalidation clears it

    def rolled_back(conn: Connection) -> None:
        conn.info.pop(_MARKS, None)

    event.listen(engine, "commit", committing)
    event.listen(engine, "begin", begun)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "handle_error", failed)
    event.listen(engine, "rollback", rolled_back)
