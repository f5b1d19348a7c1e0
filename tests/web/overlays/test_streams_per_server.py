"""One server's overlay link cannot starve another server's live views (issue 46).

The real web app of a Runtime on the production server (waitress, core/web/server.py), driven
with raw sockets: 200 streams opened on one server's overlay get at most its link's share (the
rest 429 with ``Retry-After``), and another server's overlay and live page still stream, and
hear their changes. Then the process's bound squeezed below what the first server's three links
hold: the other server's streams still open, taking their fair share from the biggest.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from core.web.dashboard.live_admission import LiveCaps
from core.web.server import WebServer
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD
from tests.web.overlays.test_overlay_pages import grant, token

WITHIN_S = 30.0  # a loaded machine answers in well under a second; this is no timing


@pytest.fixture
def served(site) -> Iterator[tuple]:  # type: ignore[no-untyped-def]
    hub = site.app.extensions["live"]
    hub.heartbeat = 0.2
    hub.stream_seconds = 60  # a failing test ends its streams soon
    threads = site.runtime.settings.web.server_threads
    server = WebServer(site.app, "127.0.0.1", 0, threads=threads)
    try:
        yield site, hub, server
    finally:
        server.close()


class Stream:
    """A raw HTTP request on its own socket, and what came back so far."""

    def __init__(self, server: WebServer, path: str, cookie: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=WITHIN_S)
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.seen = ""

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def until(self, text: str) -> str:
        """Everything read up to and including ``text`` (which is then consumed)."""
        deadline = time.monotonic() + WITHIN_S
        while text not in self.seen:
            assert time.monotonic() < deadline, f"no {text!r} in {self.seen[-300:]!r}"
            chunk = self.sock.recv(4096)
            assert chunk, f"the stream ended before {text!r}: {self.seen[-300:]!r}"
            self.seen += chunk.decode("utf-8", "replace")
        upto, _, self.seen = self.seen.partition(text)
        return upto + text

    def status(self) -> tuple[int, str]:
        head = self.until("\r\n\r\n")
        return int(head.split(" ", 2)[1]), head


def _session_cookie(site) -> str:  # type: ignore[no-untyped-def]
    client = site.client(manages=(OTHER_GUILD,))
    name = site.app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    return f"{name}={cookie.value}"


def _opened(server: WebServer, paths: list[str], stack: ExitStack) -> list[int]:
    """Open every path at once (all requests sent before any answer is read); their statuses."""
    streams = [stack.enter_context(Stream(server, path)) for path in paths]
    statuses = []
    for stream in streams:
        status, head = stream.status()
        if status == 429:
            assert "Retry-After: " in head
        statuses.append(status)
    return statuses


def _other_server_still_streams(site, server: WebServer, stack: ExitStack) -> None:  # type: ignore[no-untyped-def]
    link = f"/overlay/{token(site, 'alerts', OTHER_GUILD)}/events"
    overlay = stack.enter_context(Stream(server, link))
    assert overlay.status()[0] == 200
    overlay.until("event: ready")
    cookie = _session_cookie(site)
    page = stack.enter_context(Stream(server, f"/live?s=d:{OTHER_GUILD}:vip", cookie))
    assert page.status()[0] == 200
    page.until("event: ready")
    assert f'"sub": "d:{OTHER_GUILD}:vip"' in page.until("\n\n")
    grant(site, OTHER_GUILD, "7")  # a VIP granted on the other server: both views hear it
    overlay.until("event: alert")
    assert "viewer7 is now a VIP" in overlay.until("\n\n")
    page.until("event: changed")
    assert f'"sub": "d:{OTHER_GUILD}:vip"' in page.until("\n\n")


def test_200_streams_on_one_overlay_leave_another_servers_views_streaming(served) -> None:  # type: ignore[no-untyped-def]
    site, hub, server = served
    link = f"/overlay/{token(site, 'alerts')}/events"
    with ExitStack() as stack:
        statuses = _opened(server, [link] * 200, stack)
        caps = hub.caps
        assert statuses.count(200) == caps.per_overlay
        assert statuses.count(429) == 200 - caps.per_overlay
        assert hub.open_streams == caps.per_overlay
        _other_server_still_streams(site, server, stack)


def test_a_server_filling_the_process_yields_a_fair_share_to_another(served) -> None:  # type: ignore[no-untyped-def]
    site, hub, server = served
    hub.caps = LiveCaps(process=12, per_overlay=5, per_guild=20, per_client=400)
    links = [f"/overlay/{token(site, kind)}/events" for kind in ("alerts", "raffle", "heist")]
    with ExitStack() as stack:
        statuses = _opened(server, links * 70, stack)  # 210 streams over the server's 3 links
        assert statuses.count(200) == 12  # the whole process
        assert hub.admissions.count(GUILD) == 12
        _other_server_still_streams(site, server, stack)
        assert hub.admissions.count(OTHER_GUILD) == 2
        assert hub.admissions.count(GUILD) == 10  # its newest two made room
