"""The test clocks: time moves only when the test moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Call it for the time. Starts at ``now``, or at the real time (whole seconds) when left
    out, for tests whose signatures must be fresh. ``advance`` takes seconds, a timedelta or
    timedelta's keywords, and returns the new time."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now if now is not None else datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float | timedelta = 0, **delta: float) -> datetime:
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        self.now += step + timedelta(**delta)
        return self.now


class Ticker:
    """A monotonic clock in seconds (a float, as ``time.monotonic`` gives), for code that
    measures intervals rather than dates. Starts at ``now``; ``advance`` moves it on."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now
