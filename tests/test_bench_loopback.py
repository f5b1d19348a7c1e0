"""benchmarks/loopback.py: ``python -m benchmarks`` reaches nothing beyond loopback, in its own
process or in one it starts, and names what it tried (the run then ends broken). Run in a
process of its own: the guard it installs is for good."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH_RUN = """
import json, socket, subprocess, sys
from benchmarks.loopback import only_loopback

with only_loopback() as refused:
    with socket.socket() as sock:
        try:
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1
        except OSError as exc:
            print("refused here:", exc.strerror, file=sys.stderr)
    child = "import socket; socket.create_connection(('192.0.2.2', 80), timeout=1)"
    started = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    with socket.socket() as server:  # loopback as ever
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()
    print(json.dumps({"refused": refused(), "child_rc": started.returncode}))
"""


@pytest.mark.beyond_loopback
def test_the_bench_and_what_it_starts_reach_only_loopback_and_name_what_they_tried() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BENCH_RUN], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert "Network is unreachable" in done.stderr
    assert found["child_rc"] != 0  # its connect failed as the system would fail it
    first, second = found["refused"]
    assert first == "connect to '192.0.2.1'"
    assert second.startswith("connect to '192.0.2.2' (in process ")
