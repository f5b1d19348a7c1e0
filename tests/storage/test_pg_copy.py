"""``pg_copy.copy_out``: the same rows psycopg's own COPY reader gives, every failure raised as
psycopg raises it, and the connection ready for its next statement whatever happened."""

from __future__ import annotations

import os
import resource
import threading
import time

import psycopg
import pytest

from core.storage.pg_copy import copy_out

ODD = "\t\\ \u00fc \U0001f389 \x01 ' \""


@pytest.fixture
def connection(postgres_url: str):
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("SELECT 1")  # the transaction has begun, as copy_out wants
        yield conn


def _rows(conn: psycopg.Connection, sql: str) -> list[bytes]:
    return [bytes(row) for row in copy_out(conn, sql.encode())]


def _still_usable(conn: psycopg.Connection) -> None:
    conn.rollback()
    assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


def test_the_rows_are_those_psycopg_reads(connection):
    sql = (
        "COPY (SELECT i, repeat(%s, i %% 7), i * 1.5 FROM generate_series(1, 30000) i "
        "ORDER BY i) TO STDOUT"
    )
    statement = psycopg.sql.SQL(sql.replace("%s", "{}").replace("%%", "%")).format(
        psycopg.sql.Literal(ODD)
    )
    with connection.cursor().copy(statement) as copy:
        expected = [bytes(row) for row in copy]
    got = [bytes(row) for row in copy_out(connection, statement.as_bytes(connection))]
    assert len(got) == 30_000
    assert got == expected


def test_the_views_stay_valid_after_later_rows_arrive(connection):
    views = list(
        copy_out(connection, b"COPY (SELECT 'row ' || i FROM generate_series(1, 500) i) TO STDOUT")
    )
    assert [bytes(view) for view in views] == [f"row {i}\n".encode() for i in range(1, 501)]


def test_an_empty_result_gives_no_rows(connection):
    assert _rows(connection, "COPY (SELECT 1 WHERE false) TO STDOUT") == []
    assert connection.execute("SELECT 'next'").fetchone() == ("next",)


def test_a_statement_that_fails_before_the_rows_raises_its_error(connection):
    with pytest.raises(psycopg.errors.UndefinedTable):
        _rows(connection, "COPY (SELECT * FROM no_such_table) TO STDOUT")
    _still_usable(connection)


def test_a_statement_that_fails_among_the_rows_raises_its_error(connection):
    rows = copy_out(
        connection, b"COPY (SELECT 100 / (5000 - i) FROM generate_series(1, 10000) i) TO STDOUT"
    )
    got = []
    with pytest.raises(psycopg.errors.DivisionByZero):
        got.extend(rows)
    assert 0 < len(got) < 5000  # some rows came before the error
    _still_usable(connection)


def test_a_statement_that_is_not_a_copy_out_is_refused(connection):
    with pytest.raises(psycopg.ProgrammingError, match="not a COPY"):
        _rows(connection, "SELECT 1")
    assert connection.execute("SELECT 'next'").fetchone() == ("next",)


def test_a_reader_that_stops_early_leaves_the_connection_ready(connection):
    rows = copy_out(connection, b"COPY (SELECT i FROM generate_series(1, 100000) i) TO STDOUT")
    first = [bytes(next(rows)) for _ in range(3)]
    rows.close()
    assert first == [b"1\n", b"2\n", b"3\n"]
    assert connection.execute("SELECT count(*) FROM generate_series(1, 5)").fetchone() == (5,)
    connection.commit()


def test_other_threads_run_while_it_waits_for_the_server(connection):
    """It waits on the socket, not inside libpq with the GIL held: a thread ticks meanwhile."""
    ticks = 0
    stop = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        started = ticks
        assert _rows(connection, "COPY (SELECT pg_sleep(0.5)) TO STDOUT") == [b"\n"]
        during = ticks - started
    finally:
        stop.set()
        ticker.join()
    assert during > 0


def test_it_waits_on_a_socket_numbered_past_select_s_limit(postgres_url):
    """A bot with many connections open may hold descriptors past 1024, where ``select()``
    refuses to wait; the reader waits through a selector that has no such limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip(f"this process may open only {soft} files")
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        url = postgres_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(url) as conn:
            assert conn.pgconn.socket > 1024
            conn.execute("SELECT 1")
            assert _rows(conn, "COPY (SELECT pg_sleep(0.2), 'late') TO STDOUT") == [b"\tlate\n"]
    finally:
        for descriptor in fillers:
            os.close(descriptor)
