"""The production WSGI server (waitress) that serves the Flask app on a background thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


class WebServer:
    """The production WSGI server (waitress) on a background thread."""

    def __init__(self, app: Flask, host: str, port: int, *, threads: int = 8) -> None:
        from waitress.server import create_server

        self._server = create_server(
            app, host=host, port=port, threads=threads, ident="StreamKeeper"
        )
        self.port: int = self._server.effective_port  # type: ignore[union-attr]
        self.host = host
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
        from waitress import wasyncore

        server = self._server
        server.task_dispatcher.shutdown()
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))  # type: ignore[union-attr]
        except OSError:
            # The trigger is gone: the server already closed itself and its loop has ended.
            wasyncore.close_all(server._map, ignore_all=True)  # type: ignore[union-attr]
        self._thread.join(timeout=10)
