"""The SQL statements an engine runs inside a block, to catch a query per row (N+1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def statements_of(engine: Engine, *, this_thread: bool = False) -> Iterator[list[str]]:
    """Yield a list that fills with the statements ``engine`` sends while the block runs,
    except transaction control (SQLite's ``BEGIN IMMEDIATE``, savepoints); ``this_thread``:
    only those sent from the thread running the block (a test client's request), not those
    of the app's own background threads meanwhile."""
    seen: list[str] = []
    caller = threading.get_ident()

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if this_thread and threading.get_ident() != caller:
            return
        if not statement.lstrip().upper().startswith(_CONTROL):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
