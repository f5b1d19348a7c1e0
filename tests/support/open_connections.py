"""Which test opened a PostgreSQL connection that was left open.

psycopg warns when the garbage collector deletes a connection nobody closed, and with
``filterwarnings = error`` that fails whichever test is running at that moment: often a later,
unrelated one, under a message that names nobody. Here every connection remembers the test that
opened it and where (the frames of our own code); one deleted open fails the test running then,
at its teardown, with a message that names the opener, so the failure points at the leak.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from psycopg._connection_base import BaseConnection

ROOT = Path(__file__).resolve().parents[2]
OURS = (str(ROOT / "core"), str(ROOT / "tests"))
_running = ["(between tests)"]
_deleted_open: list[str] = []  # appended by the garbage collector, in any thread


def _our_frames() -> str:
    frames = traceback.extract_stack(limit=40)[:-2]
    return " <- ".join(
        f"{Path(frame.filename).relative_to(ROOT)}:{frame.lineno}"
        for frame in reversed(frames)
        if frame.filename.startswith(OURS) and frame.filename != __file__
    )[:1000]


def install() -> None:
    """Wrap psycopg's connection so that one deleted while open says who opened it."""
    opened = BaseConnection.__init__

    def __init__(self, *args, **kwargs) -> None:  # noqa: N807
        opened(self, *args, **kwargs)
        self._opened_by = (_running[0], _our_frames())

    def __del__(self) -> None:  # noqa: N807
        if not hasattr(self, "pgconn") or self.closed or hasattr(self, "_pool"):
            return  # as psycopg's own: never opened, closed, or a pool's
        test, frames = getattr(self, "_opened_by", ("?", ""))
        _deleted_open.append(f"opened during {test} at {frames or 'no frame of ours'}")

    BaseConnection.__init__ = __init__  # type: ignore[method-assign]
    BaseConnection.__del__ = __del__  # type: ignore[method-assign,attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _running[0] = item.nodeid
    try:
        return (yield)
    finally:
        _running[0] = "(between tests)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    result = yield
    if _deleted_open:
        leaks = [_deleted_open.pop() for _ in range(len(_deleted_open))]
        raise AssertionError(
            "a PostgreSQL connection was deleted while still open (a leak, perhaps not this "
            "test's): " + "; ".join(leaks)
        )
    return result
