"""A WSGI app served on loopback for a test or a bench: Werkzeug's threaded server in a thread
of its own (the browser tests' site, the bench's proof check)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

HOST = "127.0.0.1"


@contextmanager
def serving(app: Any, port: int) -> Iterator[str]:
    """``app`` served on ``HOST:port`` until the block ends; yields its URL."""
    server = make_server(HOST, port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # how long shutdown() waits for the loop to notice
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
