"""``python -m benchmarks.bare_waitress``: the embedded default's bare baseline.

The production web server of ``python -m core run`` (core/web/server.py: waitress with
StreamKeeper's settings and channel, as many threads as ``core run`` gives it), serving the bare
reference app (benchmarks/reference_app.py: read the body, answer a fixed ``queued`` JSON) on
HOST:PORT from the environment until SIGTERM. No signature check, no database, no dispatcher:
what the same load gets from the server alone.
"""

from __future__ import annotations

import signal
import threading

from flask import Flask

from benchmarks.reference_app import bare
from core.config import load_settings
from core.web.server import WebServer


def main() -> None:
    settings = load_settings(env_file=None)
    app = Flask("bare_waitress")
    app.wsgi_app = bare  # type: ignore[method-assign]  # every path: the bare answer
    server = WebServer(
        app, settings.web.host, settings.web.port, threads=settings.web.server_threads
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.close()


if __name__ == "__main__":
    main()
