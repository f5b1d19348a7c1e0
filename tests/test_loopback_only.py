"""The guard every test runs under (tests/support/loopback_only.py): nothing beyond loopback is
reached, what tried is named, and loopback works as ever."""

from __future__ import annotations

import errno
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
