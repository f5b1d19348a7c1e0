"""gunicorn settings for the web process of the split deployment:

    gunicorn --config gunicorn.conf.py --workers 4 --bind 0.0.0.0:8080 "core.web:create_app()"

Each worker is a process with its own numbers. prometheus-client's multiprocess mode lets
``/metrics`` sum them: every worker writes its metrics to files in ``PROMETHEUS_MULTIPROC_DIR``
and the worker that answers a scrape reads them all. This file sets the variable (to a fresh
temporary directory unless the environment names one) before any worker starts, empties the
directory at start so an earlier run is not counted again, and tells the library when a worker
has exited. The variable must be set here and not later: the library reads it once, on import.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="streamkeeper-metrics-")
    _created_here = True
else:
    _created_here = False


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
