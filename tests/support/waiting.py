"""Waiting in tests: poll for a condition instead of sleeping a fixed time, and stand-ins for
``asyncio.sleep`` so that backoffs and pauses take no time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

# How long a test waits for a process it started to answer, or for a real-time pipeline to
# tick, before it calls it a hang. Only a broken run waits this long; a process started on a busy
# machine (twice as many busy processes as cores, 4 test workers) takes many times its idle start.
PROCESS_HANG_SECONDS = 180.0


class Advancing(Protocol):
    def advance(self, seconds: float) -> Any: ...


async def eventually(
    condition: Callable[[], bool],
    *,
    within: float = 10.0,
    every: float = 0.005,
    tick: Callable[[], None] | None = None,
    message: str = "condition not met",
) -> None:
    """Poll ``condition`` every ``every`` s (calling ``tick`` first, when given) until it is
    true; fail when ``within`` s have passed without it. A met condition returns at once, so
    the bound costs a passing test nothing: it is generous, for a machine under load."""
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


class RecordingSleep:
    """An ``asyncio.sleep`` that records every wait in ``delays`` instead of waiting. Given a
    clock (anything with ``advance(seconds)``), it moves the clock on by the wait; with
    ``yields=True`` it lets the loop's other tasks run once, as a real sleep would."""

    def __init__(self, clock: Advancing | None = None, *, yields: bool = False) -> None:
        self.clock = clock
        self.yields = yields
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)
        if self.yields:
            await asyncio.sleep(0)
