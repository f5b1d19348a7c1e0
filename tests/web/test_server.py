"""The production WSGI server on its thread: it serves, and stops cleanly with clients attached."""

from __future__ import annotations

import http.client
import os
import socket
import threading

import pytest

from core.web.server import GuardedTrigger, WebServer


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
                connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
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


@pytest.mark.beyond_loopback
@pytest.mark.parametrize("host", ["127.0.0.1", "203.0.113.9"])  # in use; not this machine's
def test_a_server_that_cannot_listen_leaves_nothing_open(make_runtime, host) -> None:
    runtime = make_runtime(HOST=host)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app = runtime.create_web_app()
        sockets_and_pipes, threads = _sockets_and_pipes(), set(threading.enumerate())
        with pytest.raises(OSError, match=CANNOT_BIND):
            WebServer(app, host, taken.getsockname()[1], threads=4)
        # Compared as "nothing new" (not as equal sets): another test's leftovers may close
        # meanwhile on a busy machine.
        assert _sockets_and_pipes() - sockets_and_pipes == set()  # no socket, no wake-up pipe
        assert set(threading.enumerate()) - threads == set()  # no request thread left waiting


CANNOT_BIND = r"Cannot assign requested address|Address already in use"


def _sockets_and_pipes() -> set[str]:
    """This process's open sockets and pipes, by what they are ("socket:[inode]"), not by
    descriptor number (numbers are reused)."""
    found = set()
    for entry in os.scandir("/proc/self/fd"):
        try:
            target = os.readlink(entry.path)
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        if target.startswith(("socket:", "pipe:")):
            found.add(target)
    return found


def _open_until_descriptor(number: int, folder) -> tuple[int, list[int]]:
    """Open files in ``folder`` until one gets descriptor ``number`` (the lowest free one comes
    first); returns that file's index and every descriptor opened."""
    opened: list[int] = []
    for index in range(64):
        fd = os.open(folder / f"file-{index}", os.O_RDWR | os.O_CREAT)
        opened.append(fd)
        if fd == number:
            return index, opened
    raise AssertionError(f"descriptor {number} was not reused")


@pytest.mark.parametrize("late_pull", ["a wake-up", "a wake-up with work for the loop"])
def test_a_closed_trigger_writes_nothing_into_the_file_that_took_its_descriptor(
    tmp_path, late_pull
) -> None:
    guarded = GuardedTrigger({})
    number = guarded.trigger
    guarded.close()
    index, opened = _open_until_descriptor(number, tmp_path)
    try:
        os.write(number, b"SQLite format 3\0")
        with pytest.raises(OSError, match="trigger is closed"):
            guarded.pull_trigger(None if late_pull == "a wake-up" else lambda: None)
        assert (tmp_path / f"file-{index}").read_bytes() == b"SQLite format 3\0"
    finally:
        for fd in opened:
            os.close(fd)


def test_the_running_server_wakes_its_loop_through_a_guarded_trigger(make_runtime) -> None:
    server = make_runtime().start_web_server()
    try:
        assert isinstance(server._server.trigger, GuardedTrigger)
        woken = threading.Event()
        server._server.trigger.pull_trigger(woken.set)
        assert woken.wait(5)
    finally:
        server.close()
    with pytest.raises(OSError, match="trigger is closed"):
        server._server.trigger.pull_trigger(lambda: None)
