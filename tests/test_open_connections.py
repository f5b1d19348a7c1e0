"""The suite's guard against PostgreSQL connections left open names the test that opened one
(``tests/support/open_connections.py``): a leak fails at once, pointing at its opener."""

from __future__ import annotations

import gc
import inspect

import psycopg

from tests.support import open_connections


def test_a_connection_deleted_open_names_the_test_and_line_that_opened_it(
    postgres_url: str, request
):
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    connection = psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"))
    del connection
    gc.collect()

    leaks = [open_connections._deleted_open.pop()]  # taken, so this test's teardown passes
    assert request.node.nodeid in leaks[0]
    assert f"tests/test_open_connections.py:{line}" in leaks[0]
    assert open_connections._deleted_open == []


def test_a_closed_connection_is_no_leak(postgres_url: str):
    connection = psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"))
    connection.close()
    del connection
    gc.collect()

    assert open_connections._deleted_open == []
