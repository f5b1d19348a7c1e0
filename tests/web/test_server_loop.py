"""waitress's loop must sleep, not spin, while a running task holds a connection's output.

A task's thread sends what it writes itself, holding the connection's output lock; when the loop
finds output pending then, it cannot send it, and waitress used to poll that socket again and
again (walking every open connection each time) until the task's thread got the GIL back. With
100 live dashboards open that spin cut webhook ingest by 90 % (docs/performance.md).

Here a real client reads a large streamed answer slowly; while the test holds the connection's
output lock with output pending and the socket writable, it counts how often the loop looks at
the connection. Then it lets go and checks that every byte still arrives, in order.
"""

from __future__ import annotations

import socket
import threading
import time

from flask import Flask, Response

from core.web.server import LingeringChannel, WebServer

FIRST = b"a" * (8 * 1024 * 1024)  # more than loopback's socket buffers hold
REST = b"b" * 1024
HOLD_SECONDS = 0.5


def streaming_app(release: threading.Event) -> Flask:
    app = Flask(__name__)

    @app.get("/stream")
    def stream() -> Response:
        def body():  # type: ignore[no-untyped-def]
            yield FIRST
            release.wait(30)
            yield REST

        return Response(body(), mimetype="application/octet-stream")

    return app


def running_channel(server: WebServer) -> LingeringChannel:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for dispatcher in list(server._server._map.values()):  # type: ignore[union-attr]
            if (
                isinstance(dispatcher, LingeringChannel)
                and dispatcher.requests
                and dispatcher.total_outbufs_len
            ):
                return dispatcher
        time.sleep(0.01)
    raise AssertionError("no connection with a running task and output pending")


def drain(sock: socket.socket) -> list[bytes]:
    """What the kernel holds for the client now, read without waiting for more."""
    chunks = []
    sock.settimeout(0.2)
    try:
        while data := sock.recv(1 << 20):
            chunks.append(data)
    except TimeoutError:
        pass
    sock.settimeout(30)
    return chunks


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_the_loop_sleeps_while_a_running_task_holds_pending_output() -> None:
    release = threading.Event()
    server = WebServer(streaming_app(release), "127.0.0.1", 0, threads=2)
    sock = socket.create_connection((server.host, server.port), timeout=30)
    try:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        channel = running_channel(server)  # the task sent what fitted; the rest waits
        looks = 0
        readable = channel.readable

        def counted() -> bool:
            nonlocal looks
            looks += 1
            return readable()

        with channel.outbuf_lock:  # as the task's own thread does while it writes
            channel.readable = counted  # type: ignore[method-assign]
            received = drain(sock)  # the socket can take output again now
            looks = 0
            time.sleep(HOLD_SECONDS)
            looks_while_held = looks
        release.set()
        received.append(read_all(sock))
    finally:
        sock.close()
        server.close()

    # The loop wakes for events and its 1 s timeout, not thousands of times in half a second.
    assert looks_while_held <= 5, looks_while_held
    head, _, body = b"".join(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert dechunk(body) == FIRST + REST


def dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(rest[:size])
        rest = rest[size + 2 :]
