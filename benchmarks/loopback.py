"""No network but loopback in the benchmarks, as in the tests: ``python -m benchmarks`` runs
under the tests' guard (``tests/support/loopback_only.py``), and so does every Python process it
starts (gunicorn, ``core run``, the scale workers, load generators). A connection, a name
look-up or a listening socket beyond loopback fails as the system would fail it, and the run
ends broken, naming it (the servers it starts, PostgreSQL and Redis, are not Python: they are
bound to 127.0.0.1 by ``tests.services``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import loopback_only


@contextmanager
def only_loopback() -> Iterator[Callable[[], list[str]]]:
    """Guard this process and those it starts from now on (for good: the guard is not taken
    off); yields what was refused so far, in this process and in its children."""
    with tempfile.TemporaryDirectory(prefix="sk-bench-loopback-") as folder:
        report_to = str(Path(folder, "refused"))
        loopback_only.install_for_session(report_to)
        seen: list[str] = []

        def refused() -> list[str]:
            seen.extend(loopback_only.refused_in_children(report_to))
            return [*loopback_only.reached, *seen]

        yield refused
