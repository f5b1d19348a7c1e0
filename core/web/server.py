"""The production WSGI server (waitress) that serves the Flask app on a background thread.

waitress is one poll loop that reads and writes every connection, plus a pool of threads that
run the app on requests already read in full. A slow client therefore holds a connection, never
a thread; what protects the server from many of them is how many connections it keeps and how
long it keeps idle ones (:data:`WAITRESS_SETTINGS`). In production a reverse proxy in front
caps them further (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from waitress import trigger, wasyncore
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher, WSGITask

from core.platforms.kick.webhook import MAX_BODY_BYTES

if TYPE_CHECKING:
    from flask import Flask

# Why each value (waitress's default in brackets):
WAITRESS_SETTINGS: dict[str, Any] = {
    # [100] At the limit waitress stops accepting: 110 slow clients made /health hang for 40 s.
    # An idle connection costs a few KB and no thread. 500 keeps well inside the usual
    # 1024 descriptors per process, with room for the database pool, Redis and log files.
    # Live dashboard streams come on top while they stream (they leave the loop's map, which
    # is what waitress counts; see LingeringChannel): the hub admits LIVE_MAX_STREAMS of them.
    "connection_limit": 500,
    # [False] select() cannot watch a descriptor numbered 1024 or more; poll() has no ceiling.
    "asyncore_use_poll": True,
    # [120] Idle keep-alive connections, and clients gone silent mid-request, are closed after
    # 30 s. Kick and browsers send a request in one go.
    "channel_timeout": 30,
    # [30] How often the loop looks for those; it bounds how long one overstays its timeout.
    "cleanup_interval": 5,
    # [256 KiB] Kick sends about 1 KiB of headers, browsers a few; a slow client's half-read
    # request is buffered in memory up to this size.
    "max_request_header_size": 64 * 1024,
    # [1 GiB] waitress reads the whole body (to a temporary file) before the app sees it, so
    # Flask's MAX_CONTENT_LENGTH alone would still accept a gigabyte; answer 413 here instead.
    "max_request_body_size": MAX_BODY_BYTES,
    # [True] waitress deletes X-Forwarded-For and Forwarded from a peer it was not told to
    # trust. Behind a reverse proxy on this machine every request then looks like a direct one
    # from loopback, which the setup page (core/web/setup/) lets in without its token. Nothing
    # here trusts those headers; the setup page only needs to see that they are there.
    "clear_untrusted_proxy_headers": False,
}

# After an answer that closes the connection (an error such as 431 or 413, or Connection: close)
# the client may still be sending. Closing a socket with unread input makes the kernel send a
# reset, which destroys the answer before the client reads it. So the channel first shuts down
# its sending side and reads (and drops) what still arrives, until the client closes or these
# bounds are reached ("lingering close", as Apache and nginx do).
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 8 * 1024 * 1024


EVENT_STREAM = "text/event-stream"


class StreamAwareTask(WSGITask):
    """waitress's task, which tells its channel once it has begun an event stream."""

    def write(self, data: bytes) -> None:
        starting = not self.wrote_header
        super().write(data)
        if starting and self.wrote_header and _is_event_stream(self.response_headers):
            self.channel.stream_started()


def _is_event_stream(headers: list[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "content-type" and value.lower().startswith(EVENT_STREAM)
        for name, value in headers
    )


class LingeringChannel(HTTPChannel):
    """waitress's channel with a lingering close after an answer that ends the connection, and
    out of the loop's way while it streams events.

    Out of the way: waitress's loop asks every connection in its map whether it wants to read or
    write on every turn, several turns per request, and a live dashboard's stream stays open for
    minutes while it sends an event a second. So while a task writes an event stream, its
    connection leaves the map ("parked"): the task's thread sends each event itself, as it does
    for every answer, and the loop never looks at it. It rejoins the map when the stream ends,
    and whenever output is left that the client could not take yet, for the loop to send. A
    parked connection's reads are not watched; before each write its task looks whether the
    client has closed (:meth:`_client_gone`), so a closed page ends its stream at the next event
    or heartbeat. Only the loop's thread changes the map: the task's thread asks it through the
    trigger, in order.
    """

    task_class = StreamAwareTask

    _closing_after_answer = False
    _linger_deadline: float | None = None
    _linger_budget = LINGER_MAX_BYTES
    _streaming = False  # a task is writing an event stream (set and cleared by its thread)
    _parked = False  # out of the loop's map (changed by the loop's thread only)

    def handle_write(self) -> None:
        # waitress closes (handle_close) from here once an answer marked close_when_flushed
        # has been sent: that close is the one to turn into a lingering one.
        self._closing_after_answer = bool(self.close_when_flushed)
        try:
            super().handle_write()
        finally:
            self._closing_after_answer = False

    def handle_close(self) -> None:
        if self._closing_after_answer and self._linger_deadline is None and self.connected:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the client is gone already: close for real
            else:
                self.will_close = False
                self._linger_deadline = time.monotonic() + LINGER_SECONDS
                return
        super().handle_close()

    def writable(self) -> bool:
        # While a task runs, its thread sends what it writes itself (send_bytes 1), holding the
        # channel's output lock. Output the loop finds pending then is not its to send
        # (handle_write only tries the lock), yet waitress would poll the socket again and again,
        # walking every open connection each time, until the task's thread got the GIL back:
        # with 100 live dashboards open that spin took a core and cut webhooks by 90 %. A task
        # that could not send everything pulls the trigger; at worst the loop looks again after
        # its 1 s poll timeout, which only a client with a full socket buffer can meet.
        # Otherwise waitress's own test, written out: the loop asks every connection every turn.
        if self.will_close or self.close_when_flushed:
            return True
        if not self.total_outbufs_len:
            return False
        if not self.requests:
            return True
        if not self.outbuf_lock.acquire(False):
            return False  # the task's thread is sending it
        self.outbuf_lock.release()
        return True

    def readable(self) -> bool:
        if self._linger_deadline is None:
            return HTTPChannel.readable(self)  # type: ignore[no-any-return]
        if time.monotonic() >= self._linger_deadline:
            self.will_close = True  # writable() now; handle_write closes for real
            return False
        return True

    def stream_started(self) -> None:
        self._streaming = True
        self._settle_soon()

    def write_soon(self, data: bytes) -> int | None:
        if self._parked and self._client_gone():
            raise ClientDisconnected  # service() ends the stream; the loop then closes
        written: int | None = super().write_soon(data)  # None for empty data
        if self._streaming and self._parked == bool(self.total_outbufs_len):
            self._settle_soon()  # output left for the loop to send, or all sent: park
        return written

    def service(self) -> None:
        try:
            super().service()
        finally:
            if self._streaming:
                self._streaming = False
                self._settle_soon()

    def _client_gone(self) -> bool:
        try:
            return self.socket.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False  # nothing to read: still there
        except OSError:
            return True

    def _settle_soon(self) -> None:
        with contextlib.suppress(OSError):  # the server has stopped: the channel goes with it
            self.server.trigger.pull_trigger(self._settle)

    def _settle(self) -> None:
        """In the loop's thread: leave the map while streaming with nothing to send; else rejoin.

        Under the output lock, so that a write in between cannot leave output parked unseen:
        a write either comes first (and this sees its output) or after (and it sees the park).
        """
        with self.outbuf_lock:
            park = (
                self._streaming
                and self.connected
                and not self.total_outbufs_len
                and not (self.will_close or self.close_when_flushed)
            )
            if park and not self._parked:
                self._parked = True
                self._map.pop(self._fileno, None)
            elif self._parked and not park:
                self._parked = False
                if self._fileno is not None:  # None once closed: then it stays out
                    self._map[self._fileno] = self

    def handle_read(self) -> None:
        if self._linger_deadline is None:
            super().handle_read()
            return
        try:
            data = self.recv(self.adj.recv_bytes)  # at the client's end of input: closes
        except OSError:
            data = b""
        self._linger_budget -= len(data)
        if self.connected and (not data or self._linger_budget <= 0):
            super().handle_close()


class GuardedTrigger(trigger.trigger):
    """waitress's trigger (the pipe other threads write a byte to, to wake the loop), which
    refuses a pull once it is closed.

    waitress's own writes ``b"x"`` to the pipe's descriptor number even after closing it, and by
    then the number may belong to a file opened since: a stream's thread that outlived the
    server (or a second close) wrote its byte over the first byte of an SQLite database. The
    pull and the close take one lock, so a pull either comes before the close or raises OSError.
    """

    def __init__(self, socket_map: dict[int, Any]) -> None:
        self._descriptors_lock = threading.RLock()
        super().__init__(socket_map)

    def _physical_pull(self) -> None:
        with self._descriptors_lock:
            if self._closed:
                raise OSError(errno.EBADF, "the web server's trigger is closed")
            os.write(self.trigger, b"x")

    def close(self) -> None:
        with self._descriptors_lock:
            super().close()


def _replace_triggers(socket_map: dict[int, Any]) -> None:
    """Give every listening server of ``socket_map`` a :class:`GuardedTrigger` (before its loop
    runs: the replaced pipe is closed here, in the only thread that knows it)."""
    for dispatcher in list(socket_map.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.trigger.close()
            dispatcher.trigger = GuardedTrigger(socket_map)


class WebServer:
    """The production WSGI server (waitress) on a background thread."""

    def __init__(self, app: Flask, host: str, port: int, *, threads: int = 8) -> None:
        socket_map: dict[int, Any] = {}
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(threads)
        try:
            self._server = create_server(
                app,
                map=socket_map,
                _dispatcher=dispatcher,
                host=host,
                port=port,
                threads=threads,
                ident="StreamKeeper",
                **WAITRESS_SETTINGS,
            )
        except (OSError, ValueError) as exc:
            # The address cannot be taken (in use, not this machine's): close what waitress
            # opened before it tried (its wake-up pipe, the socket) and stop its threads, so a
            # failed start leaves nothing behind for the garbage collector to complain about.
            wasyncore.close_all(socket_map)
            dispatcher.shutdown()
            if isinstance(exc, ValueError):
                # waitress's "Invalid host/port specified.": a HOST it could not look up.
                raise socket.gaierror(socket.EAI_NONAME, str(exc)) from exc
            raise
        for dispatcher in list(self._server._map.values()):  # type: ignore[union-attr]
            if isinstance(dispatcher, BaseWSGIServer):  # one per listening socket
                dispatcher.channel_class = LingeringChannel
        _replace_triggers(self._server._map)  # type: ignore[union-attr]
        self.port: int = self._server.effective_port  # type: ignore[union-attr]
        self.host = host
        self._app = app
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Finish the requests in hand, then stop the server's loop from inside its own thread.

        Closing the sockets from this thread instead races with the select() the loop is
        blocked in, which then fails on a closed descriptor.
        """
        live = self._app.extensions.get("live")
        if live is not None:  # open dashboard streams end now instead of holding the shutdown
            live.close()
        server = self._server
        server.task_dispatcher.shutdown()

        def close_all(ignore_all: bool = False) -> None:
            # Connections first, parked ones included (a stream that outlived the threads'
            # shutdown), through handle_close: it also frees their output buffers, which may be
            # temporary files; then what is left in the loop's map (listeners, trigger).
            for channel in list(server.active_channels.values()):  # type: ignore[union-attr]
                with contextlib.suppress(OSError):
                    channel.handle_close()
            wasyncore.close_all(server._map, ignore_all=ignore_all)  # type: ignore[union-attr]

        try:
            server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
        except OSError:
            # The trigger is gone: the server already closed itself and its loop has ended.
            close_all(ignore_all=True)
        self._thread.join(timeout=10)
