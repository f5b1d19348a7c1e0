"""``COPY ... TO STDOUT`` out of PostgreSQL at the speed libpq hands the rows over.

psycopg's ``Copy`` object waits through a generator for every row, which is about two thirds
of the reader's CPU when a row is a short line (the raffle's close reads one per ledger row,
a million at a time). This reads libpq's buffer directly while rows are there and waits on the
socket (a selector, which lets other threads run) only when it is empty.
"""

from __future__ import annotations

import selectors
from collections.abc import Callable, Iterator

import psycopg
from psycopg import errors
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGconn, PGresult


def copy_out(connection: psycopg.Connection, statement: bytes) -> Iterator[memoryview]:
    """The rows of ``statement`` (a ``COPY ... TO STDOUT``) as they arrive, each a view of its
    own buffer (safe to keep). Run it inside the connection's transaction: the caller has
    already executed something through psycopg in it, so psycopg's BEGIN went first.

    A failure of the statement, before or during the rows, raises psycopg's error for it; a
    reader that stops early still leaves the connection ready for its next statement."""
    pgconn = connection.pgconn
    encoding = connection.info.encoding
    with selectors.DefaultSelector() as selector:  # epoll on Linux: any descriptor number
        selector.register(pgconn.socket, selectors.EVENT_READ)

        def wait() -> None:
            selector.select()
            pgconn.consume_input()

        pgconn.send_query(statement)
        while pgconn.is_busy():
            wait()
        first = pgconn.get_result()
        if first is None or first.status != ExecStatus.COPY_OUT:
            _finish(pgconn, wait, encoding, first)
            raise psycopg.ProgrammingError("the statement is not a COPY ... TO STDOUT")
        done = False
        try:
            while True:
                nbytes, data = pgconn.get_copy_data(1)
                if nbytes > 0:
                    yield data
                elif nbytes == 0:  # nothing whole in the buffer yet
                    wait()
                elif nbytes == -1:
                    break
                else:
                    raise psycopg.OperationalError(pgconn.get_error_message(encoding))
            done = True
        finally:
            if not done:  # the rest of the rows, read and forgotten
                while (nbytes := pgconn.get_copy_data(1)[0]) >= 0:
                    if nbytes == 0:
                        wait()
            _finish(pgconn, wait, encoding, None, raise_error=done)


def _finish(
    pgconn: PGconn,
    wait: Callable[[], None],
    encoding: str,
    result: PGresult | None,
    *,
    raise_error: bool = True,
) -> None:
    """Collect the statement's remaining results (libpq wants them all read) and raise the
    first error among ``result`` and them."""
    failed = result if result is not None and result.status == ExecStatus.FATAL_ERROR else None
    while True:
        while pgconn.is_busy():
            wait()
        if (result := pgconn.get_result()) is None:
            break
        if failed is None and result.status == ExecStatus.FATAL_ERROR:
            failed = result
    if failed is not None and raise_error:
        raise errors.error_from_result(failed, encoding=encoding)
