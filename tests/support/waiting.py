"""Waiting in tests: poll for a condition instead of sleeping a fixed time, and stand-ins for
``asyncio.sleep`` so that backoffs and pauses take no time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(
    condition: Callable[[], bool],
    *,
    within: float = 2.0,
    every: float = 0.005,
    tick: Callable[[], None] | None = None,
    message: str = "condition not met",
) -> None:
    """Poll ``condition`` every ``every`` s (calling ``tick`` first, when given) until it is
    true; fail when ``within`` s have passed without it."""
    deadline = time.monotonic() + within
    while True:
        if tick is not None:
            tick()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} within {within} s")
        await asyncio.sleep(every)


async def no_sleep(seconds: float) -> None:
    """An ``asyncio.sleep`` that returns at once (and does not yield to the loop)."""
