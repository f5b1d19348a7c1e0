"""An event stream's connection leaves waitress's loop while it streams, and loses nothing.

waitress's loop asks every open connection on every turn whether it wants to read or write, so
100 live dashboards used to cost every webhook a walk over 100 idle streams. While a task writes a
``text/event-stream`` answer its connection is parked out of the loop's map; it rejoins when the
stream ends or when output is left for the loop to send. These tests drive the production server
(core/web/server.py) with raw sockets and check what a client sees: every event, in order, and a
clean close after the stream; plain answers never parked; a closed page ending its stream; a slow
reader getting everything; a shutdown closing parked connections too.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, Response

from core.web.server import LingeringChannel, WebServer

END = None


class Streams:
    """A test app: ``/events`` streams what the test puts in its queue; ``/plain`` answers."""

    def __init__(self) -> None:
        self.outbox: queue.Queue[bytes | None] = queue.Queue()
        self.ended = threading.Event()
        self.app = Flask(__name__)
        self.app.extensions["live"] = self  # WebServer.close() ends open streams through it
        self.app.add_url_rule("/events", view_func=self.events)
        self.app.add_url_rule("/plain", view_func=lambda: "plain answer")

    def events(self) -> Response:
        def body() -> Iterator[bytes]:
            try:
                yield b"retry: 3000\n\n"
                while (item := self.outbox.get(timeout=30)) is not END:
                    yield item
            finally:
                self.ended.set()

        return Response(body(), mimetype="text/event-stream")

    def close(self) -> None:
        self.outbox.put(END)


@pytest.fixture
def streams() -> Iterator[tuple[Streams, WebServer]]:
    app = Streams()
    server = WebServer(app.app, "127.0.0.1", 0, threads=4)
    try:
        yield app, server
    finally:
        server.close()


def connect(server: WebServer, path: str, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(10)
    if receive_buffer is not None:  # before connecting, so that the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((server.host, int(server.port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def channel_of(server: WebServer, sock: socket.socket) -> LingeringChannel:
    channels = server._server.active_channels  # type: ignore[union-attr]
    for channel in list(channels.values()):
        if channel.addr == sock.getsockname():
            return channel  # type: ignore[no-any-return]
    raise AssertionError("the server holds no connection for this client")


def in_loop(server: WebServer, channel: LingeringChannel) -> bool:
    return channel in server._server._map.values()  # type: ignore[union-attr]


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.005)


class Reader:
    """The client's side: the answer's head, then its body de-chunked as it arrives."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = b""
        self.head = b""
        self.body = bytearray()
        self.finished = False  # the terminating zero-size chunk has arrived

    def until(self, data: bytes) -> None:
        searched = 0
        while (found := self.body.find(data, searched)) < 0 and not self.finished:
            searched = max(0, len(self.body) - len(data))
            self._read()
        assert found >= 0, (data, self.body[-200:])

    def until_finished(self) -> None:
        while not self.finished:
            self._read()

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 20)
        assert chunk, "the server closed the connection"
        self.raw += chunk
        if not self.head:
            if b"\r\n\r\n" not in self.raw:
                return
            self.head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        while b"\r\n" in self.raw and not self.finished:
            size_line, _, rest = self.raw.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                if rest.startswith(b"\r\n"):
                    self.finished, self.raw = True, rest[2:]
                return
            if len(rest) < size + 2:
                return
            self.body += rest[:size]
            self.raw = rest[size + 2 :]


def event(number: int, size: int = 0) -> bytes:
    return f"id: {number}\nevent: changed\ndata: {'x' * size}\n\n".encode()


def parked_stream(
    server: WebServer, receive_buffer: int | None = None
) -> tuple[socket.socket, Reader, LingeringChannel]:
    """A client reading ``/events``, once its first event is in and its connection is parked."""
    sock = connect(server, "/events", receive_buffer)
    reader = Reader(sock)
    reader.until(b"retry: 3000\n\n")
    channel = channel_of(server, sock)
    wait_for(lambda: channel._parked and not in_loop(server, channel), "the stream to park")
    return sock, reader, channel


def test_a_stream_leaves_the_loop_and_every_event_arrives_in_order(streams) -> None:  # type: ignore[no-untyped-def]
    app, server = streams
    sock, reader, channel = parked_stream(server)
    assert reader.head.startswith(b"HTTP/1.1 200")
    assert b"text/event-stream" in reader.head

    for number in range(1, 201):
        app.outbox.put(event(number))
    reader.until(event(200))
    assert reader.body == b"retry: 3000\n\n" + b"".join(event(n) for n in range(1, 201))
    assert channel._parked  # sent by the task's thread, not the loop
    assert not in_loop(server, channel)

    app.close()  # the stream ends; waitress closes a chunked answer's connection after it
    reader.until_finished()
    assert b"Connection: close" in reader.head
    assert sock.recv(1024) == b""  # the loop closed it: the connection rejoined the loop
    assert not channel._parked
    sock.close()


def test_plain_answers_never_leave_the_loop(streams) -> None:  # type: ignore[no-untyped-def]
    _, server = streams
    sock = connect(server, "/plain")
    answers = b""
    for sent in range(1, 21):  # keep-alive: one connection, one answer after another
        while answers.count(b"plain answer") < sent:
            answers += sock.recv(4096)
        channel = channel_of(server, sock)
        assert in_loop(server, channel)
        assert not channel._parked
        assert not channel._streaming
        sock.sendall(b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answers.count(b"HTTP/1.1 200 OK") == 20
    sock.close()


def test_a_closed_page_ends_its_stream_at_the_next_write(streams) -> None:  # type: ignore[no-untyped-def]
    app, server = streams
    sock, _, channel = parked_stream(server)
    sock.close()  # the browser tab is closed; nothing watches a parked connection's reads

    assert not app.ended.wait(0.3)  # the stream sleeps until its next event or heartbeat
    app.outbox.put(b": heartbeat\n\n")
    assert app.ended.wait(10), "the stream did not end after its client had gone"
    channels = server._server.active_channels  # type: ignore[union-attr]
    wait_for(lambda: channel not in channels.values(), "the server to close the connection")
    assert not in_loop(server, channel)


def test_a_slow_reader_gets_every_byte_through_the_loop(streams) -> None:  # type: ignore[no-untyped-def]
    app, server = streams
    sock, reader, channel = parked_stream(server, receive_buffer=4096)

    big = [event(number, 64 * 1024) for number in range(1, 129)]  # 8 MiB, more than sockets hold
    for item in big:
        app.outbox.put(item)
    wait_for(lambda: app.outbox.empty() and channel.total_outbufs_len > 0, "output to back up")
    wait_for(lambda: in_loop(server, channel), "the connection to rejoin the loop to send it")

    reader.until(big[-1])
    assert reader.body == b"retry: 3000\n\n" + b"".join(big)
    app.outbox.put(event(129))  # the backlog is gone: the next event is sent by the task again
    reader.until(event(129))
    wait_for(lambda: channel._parked and not in_loop(server, channel), "the stream to park again")
    sock.close()


def test_shutdown_closes_parked_connections(streams) -> None:  # type: ignore[no-untyped-def]
    app, server = streams
    ended_by_hub, reader, _ = parked_stream(server)

    server.close()  # ends the stream through the app's hub, then closes every connection

    assert app.ended.is_set()
    reader.until_finished()
    assert ended_by_hub.recv(1024) == b""  # closed, not left open outside the loop
    ended_by_hub.close()


def test_shutdown_closes_a_parked_stream_that_outlives_the_threads() -> None:
    app = Streams()
    app.app.extensions.pop("live")  # nothing ends this stream: it outlives the threads' 5 s
    server = WebServer(app.app, "127.0.0.1", 0, threads=2)
    sock, _, _ = parked_stream(server)
    try:
        server.close()
        sock.settimeout(10)
        while sock.recv(4096):
            pass  # read to the end: the server closed the connection
    finally:
        app.close()
        sock.close()
