"""HEAD on the webhook routes answers headers only, over a real socket with waitress: a body
after a HEAD's headers would be read as the next response on the same connection."""

from __future__ import annotations

import http.client
import socket

import pytest
from werkzeug.test import EnvironBuilder


@pytest.fixture
def server(make_runtime):
    server = make_runtime(TWITCH_EVENTSUB_SECRET="a-test-secret-of-some-length").start_web_server()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("path", ["/webhooks/kick", "/webhooks/twitch"])
def test_head_then_get_on_one_connection_reads_two_clean_answers(server, path):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)  # a busy machine
    try:
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert head.status == 405
        assert head.getheader("Allow") == "POST"
        assert head.read() == b""
        # The same connection: the next answer must be the health check's, not the 405's JSON.
        connection.request("GET", "/health")
        health = connection.getresponse()
        assert health.status == 200
        assert health.getheader("Content-Type") == "application/json"
        assert b'"status":"ok"' in health.read().replace(b" ", b"")
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/webhooks/kick", "/webhooks/twitch"])
def test_head_sends_no_body_bytes_at_all(server, path):
    # Read the raw socket: after the blank line that ends the headers, nothing follows.
    with socket.create_connection((server.host, server.port), timeout=60) as raw:
        raw.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405")
    assert rest == b""


def test_head_at_the_wsgi_level_produces_no_body(make_runtime):
    app = make_runtime().create_web_app()
    started: list[str] = []
    environ = EnvironBuilder(path="/webhooks/kick", method="HEAD").get_environ()
    body = app.wsgi_app(environ, lambda status, headers: started.append(status))
    assert started == ["405 Method Not Allowed"]
    assert b"".join(body) == b""
