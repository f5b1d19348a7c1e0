"""gunicorn settings for the web process of the split deployment:

    gunicorn --config gunicorn.conf.py --workers 4 --bind 0.0.0.0:8080 "core.wsgi:create_app()"

Each worker is a process with its own numbers. prometheus-client's multiprocess mode lets
``/metrics`` sum them: every worker writes its metrics to files in ``PROMETHEUS_MULTIPROC_DIR``
and the worker that answers a scrape reads them all. This file sets the variable (to a fresh
temporary directory unless the environment names one) before any worker starts, empties the
directory at start so an earlier run is not counted again, and tells the library when a worker
has exited. The variable must be set here and not later: the library reads it once, on import.

The limits below keep slow or oversized requests from holding workers (the same intent as the
waitress settings in core/web/server.py). gunicorn's gthread workers give each connection one of
their threads while its request is read, so run gunicorn behind a buffering proxy
(docs/deploy.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from core.config import load_settings
from core.platforms.kick.webhook import load_public_key
from core.settings_reader import SettingsError

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="streamkeeper-metrics-")
    _created_here = True
else:
    _created_here = False

# A worker silent for 30 s is restarted; no request of ours takes a second.
timeout = 30
# On restart or stop, requests in hand get 20 s to finish.
graceful_timeout = 20
# Idle keep-alive connections (behind the proxy) are closed after 5 s.
keepalive = 5
# Threaded workers: a live dashboard stream (core/web/dashboard/live.py) holds a thread for as
# long as it is open, so each worker gets WEB_THREADS threads for requests plus one per stream it
# admits (LIVE_MAX_STREAMS): open dashboards never take the threads webhooks are answered on.
# The worker's heartbeat is its main loop, not a request, so a long stream does not trip
# ``timeout``. Command-line --threads/--worker-class override these. Both settings are read as
# the app reads them (the environment over .env, checked): a worker whose threads came from the
# environment alone, while the app admitted streams by .env, could give every thread to streams.
try:
    _settings = load_settings()
    # Each worker's app loads Kick's key; one it cannot load is said here once, not as a
    # traceback of every worker.
    load_public_key(_settings.kick.webhook_public_key)
except SettingsError as _problems:
    raise SystemExit("\n".join(_problems.problems)) from None
except ValueError as _bad_key:
    raise SystemExit(str(_bad_key)) from None
_web = _settings.web
worker_class = "gthread"
threads = _web.threads + _web.live_max_streams
# Request line, number of headers and each header's size: Kick sends about 1 KiB in total.
# Over these gunicorn answers 400 / 431 before the app is called.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Before the first worker: an empty directory, whatever an earlier run left in it."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    """A worker exited: its counters stay in the sum, its live gauges are dropped."""
    from prometheus_client import multiprocess  # imported here: never before the variable is set

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # type: ignore[no-untyped-def]
    if _created_here:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
