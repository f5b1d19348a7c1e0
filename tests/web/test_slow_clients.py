"""The web server under hostile clients, over real sockets on 127.0.0.1.

waitress is one select/poll loop plus a thread pool: a client that sends its request slowly holds
a connection, not a thread. These tests hold many such connections open (trickling bytes so that
no inactivity timeout frees them) and check that ``/health`` and a signed webhook still answer.
The bounds are liveness bounds (an answer at all within a generous time), not performance claims.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.platforms.kick.signing import signed_headers
from core.web.server import WebServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kick"
SLOW_CLIENTS = 150
ANSWER_WITHIN_SECONDS = 10


@contextlib.contextmanager
def slow_clients(server: WebServer, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that each sent a partial request line and then trickle one header
    byte every half second, never finishing; all closed on exit."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.5):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"a")

    try:
        for _ in range(count):
            sock = socket.create_connection((server.host, server.port), timeout=5)
            sockets.append(sock)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        thread = threading.Thread(target=trickle, name="slowloris", daemon=True)
        thread.start()
        try:
            yield sockets
        finally:
            stop.set()
            thread.join(timeout=5)
    finally:
        for sock in sockets:
            sock.close()


def request(server: WebServer, method: str, path: str, body: bytes = b"", headers=None):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=ANSWER_WITHIN_SECONDS)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_health_and_webhooks_answer_while_many_slow_clients_hold_connections(
    make_runtime, kick_keys
) -> None:
    runtime = make_runtime()
    server = runtime.start_web_server()
    body = (FIXTURES / "chat.message.sent.json").read_bytes()
    try:
        with slow_clients(server, SLOW_CLIENTS):
            status, _ = request(server, "GET", "/health")
            assert status == 200

            headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
            headers["Content-Type"] = "application/json"
            status, answer = request(server, "POST", "/webhooks/kick", body, headers)
            assert status == 200, answer
    finally:
        server.close()


@pytest.mark.parametrize("header_kib", [300, 2048])
def test_an_oversized_header_is_answered_431_not_reset(make_runtime, header_kib: int) -> None:
    runtime = make_runtime()
    server = runtime.start_web_server()
    try:
        request_bytes = (
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
            + b"a" * (header_kib * 1024)
            + b"\r\n\r\n"
        )
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            with contextlib.suppress(OSError):  # the server may stop reading early: that is fine
                sock.sendall(request_bytes)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        # waitress answers a request it could not parse as HTTP/1.0
        assert re.match(rb"HTTP/1\.[01] 431 ", answer), answer[:200]
    finally:
        server.close()
