"""The guard every test runs under (tests/support/loopback_only.py): nothing beyond loopback is
reached, what tried is named, and loopback works as ever."""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import loopback_only


@pytest.mark.beyond_loopback
def test_addresses_beyond_loopback_are_refused_as_the_system_would_and_named() -> None:
    before = len(loopback_only.reached)

    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("drand.cloudflare.com", 443)
    with socket.socket() as sock, pytest.raises(OSError, match="unreachable") as unreachable:
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1
    not_this_machines = "Cannot assign requested address"
    with socket.socket() as sock, pytest.raises(OSError, match=not_this_machines) as not_ours:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 (what the guard refuses)
    with pytest.raises(httpx.ConnectError):
        httpx.get("https://api.kick.com/public/v1/users", timeout=2)

    assert unreachable.value.errno == errno.ENETUNREACH
    assert not_ours.value.errno == errno.EADDRNOTAVAIL
    assert loopback_only.reached[before:] == [
        "look up 'drand.cloudflare.com'",
        "connect to '192.0.2.1'",
        "listen on '0.0.0.0'",
        "look up 'api.kick.com'",
    ]


def test_loopback_and_numeric_addresses_are_as_ever() -> None:
    before = len(loopback_only.reached)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("203.0.113.9", 80)  # a number is no look-up on the network
    assert loopback_only.reached[before:] == []


REACH_OUT = """
import socket
try:
    socket.getaddrinfo("api.kick.com", 443)
except socket.gaierror:
    print("refused")
with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
import tests.support
print("loopback as ever")
"""


def test_a_python_process_a_test_starts_is_guarded_and_tells_the_test(tmp_path) -> None:
    """What it refused reaches the test (the autouse fixture fails the test with it); its own
    PYTHONPATH is kept."""
    report_to = str(tmp_path / "refused.txt")
    root = str(Path(__file__).resolve().parents[1])

    with loopback_only.children_too(report_to):
        done = subprocess.run(
            [sys.executable, "-c", REACH_OUT],
            env={"PYTHONPATH": root, "PATH": os.environ.get("PATH", "")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["refused", "loopback as ever"]
    [line] = loopback_only.refused_in_children(report_to)
    assert line.startswith("look up 'api.kick.com' (in process ")
    assert loopback_only.refused_in_children(report_to) == []  # read once


@pytest.mark.beyond_loopback
def test_postgres_connections_beyond_loopback_are_refused_before_libpq_opens_them() -> None:
    """libpq opens its sockets in C, where the socket guard cannot see them."""
    import psycopg

    before = len(loopback_only.reached)
    for conninfo in (
        "host=192.0.2.1 dbname=x connect_timeout=1",
        "postgresql://someone@db.example.com:5432/x",
        "host=127.0.0.1,192.0.2.7 dbname=x",  # any one host beyond loopback
        "host=localhost hostaddr=198.51.100.3 dbname=x",  # libpq goes to hostaddr
    ):
        with pytest.raises(psycopg.OperationalError, match="tests reach only loopback"):
            psycopg.connect(conninfo)
    with pytest.raises(psycopg.OperationalError, match="tests reach only loopback"):
        psycopg.Connection.connect(host="203.0.113.5", dbname="x", autocommit=True)

    assert loopback_only.reached[before:] == [
        "connect to '192.0.2.1'",
        "connect to 'db.example.com'",
        "connect to '192.0.2.7'",
        "connect to '198.51.100.3'",
        "connect to '203.0.113.5'",
    ]


@pytest.mark.beyond_loopback
async def test_async_postgres_connections_beyond_loopback_are_refused() -> None:
    import psycopg

    before = len(loopback_only.reached)
    with pytest.raises(psycopg.OperationalError, match="tests reach only loopback"):
        await psycopg.AsyncConnection.connect("host=192.0.2.9 dbname=x")
    assert loopback_only.reached[before:] == ["connect to '192.0.2.9'"]


def test_postgres_on_loopback_and_on_a_local_socket_are_as_ever(postgres_url) -> None:
    import psycopg

    before = len(loopback_only.reached)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # A socket folder is this machine's: libpq answers (no server there), not the guard.
    with pytest.raises(psycopg.OperationalError) as no_server:
        psycopg.connect("host=/nonexistent-streamkeeper-socket dbname=x connect_timeout=1")
    assert "tests reach only loopback" not in str(no_server.value)
    assert loopback_only.reached[before:] == []


def _look_up_kick() -> None:
    with contextlib.suppress(socket.gaierror):
        socket.getaddrinfo("api.kick.com", 443)


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_a_multiprocessing_child_is_guarded_and_tells_the_test(tmp_path, start) -> None:
    """``multiprocessing`` starts its children without ``subprocess`` (spawn) or without a new
    interpreter (fork); either way the child is guarded and what it refused reaches the test."""
    report_to = str(tmp_path / "refused.txt")

    with loopback_only.children_too(report_to):
        child = multiprocessing.get_context(start).Process(target=_look_up_kick)
        child.start()
        child.join(60)

    assert child.exitcode == 0
    [line] = loopback_only.refused_in_children(report_to)
    assert line.startswith("look up 'api.kick.com' (in process ")


REACHES_FROM_A_FIXTURE = """
import socket
import pytest


@pytest.fixture(scope="module")
def partner():
    try:
        socket.getaddrinfo("api.kick.com", 443)
    except socket.gaierror:
        pass


def test_uses_it(partner):
    pass
"""


def test_what_a_module_fixture_reaches_beyond_loopback_fails_the_session(tmp_path) -> None:
    """Outside any test, so no test's own check sees it: the session's last test fails."""
    (tmp_path / "test_fixture_reaches.py").write_text(REACHES_FROM_A_FIXTURE)
    root = Path(__file__).resolve().parents[1]

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(root), "TEST_FAST": "1"},
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed, 1 error" in done.stdout
    assert (
        "outside any test, something reached beyond loopback: look up 'api.kick.com'" in done.stdout
    )
