"""The production WSGI server on its thread: it serves, and stops cleanly with clients attached."""

from __future__ import annotations

import http.client
import threading

import pytest


def test_the_web_server_stops_cleanly_with_idle_keep_alive_connections(make_runtime) -> None:
    runtime = make_runtime()
    failures: list[BaseException] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)  # type: ignore[assignment]
    try:
        for _ in range(20):  # the race it guards against showed up about one stop in a few
            server = runtime.start_web_server()
            connections = []
            for _ in range(3):
                connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
                connection.request("GET", "/health")
                response = connection.getresponse()
                assert response.status == 200
                response.read()
                connections.append(connection)  # kept open: keep-alive channels in the loop
            server.close()
            assert not server._thread.is_alive()
            for connection in connections:
                connection.close()
    finally:
        threading.excepthook = previous_hook
    assert failures == []


def test_a_stopped_web_server_refuses_new_connections(make_runtime) -> None:
    runtime = make_runtime()
    server = runtime.start_web_server()
    server.close()

    connection = http.client.HTTPConnection(server.host, server.port, timeout=2)
    with pytest.raises(ConnectionRefusedError):
        connection.connect()
