"""The test clocks: time moves only when the test moves it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


class WallClock:
    """The real time (UTC), which a test can hold still while it does something that must all
    happen at one instant: inside ``with clock.hold() as now:`` every reading is ``now``. For
    code that runs on the real time (a pipeline's scheduler sleeps until its instants) where a
    test must still say on which side of an instant its events fall, however slow the machine
    is to queue them (``tests/support/tick_gate.py``)."""

    def __init__(self) -> None:
        self.held: datetime | None = None

    def __call__(self) -> datetime:
        held = self.held
        return held if held is not None else datetime.now(UTC)

    @contextmanager
    def hold(self, at: datetime | None = None) -> Iterator[datetime]:
        """Read ``at`` (the real time now, when left out) until the block ends."""
        self.held = at if at is not None else datetime.now(UTC)
        try:
            yield self.held
        finally:
            self.held = None
