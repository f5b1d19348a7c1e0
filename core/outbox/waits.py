"""How long a call waits before it is made again: what its partner asked (a 429's
``Retry-After``, Discord's ``retry_after``), within bounds, else the worker's backoff.

A partner's wait is a number from outside: a billion seconds would park the call for decades
(and one past the year 9999 cannot be written at all), a negative one or not a number says
nothing. So a wait is at most :data:`MAX_WAIT_SECONDS`, and one that is not a number of seconds
from now is the worker's backoff."""

from __future__ import annotations

import math

MAX_WAIT_SECONDS = 3600.0  # a partner's longest wait honoured; a longer one waits this long


def retry_delay(asked: float | None, attempts: int, first: float, longest_backoff: float) -> float:
    """Seconds until the call is made again: ``asked`` (the partner's wait) bounded, or, when it
    said none that makes sense, ``first * 2**attempts`` up to ``longest_backoff``."""
    if asked is not None and not math.isnan(asked) and asked >= 0:
        return min(asked, MAX_WAIT_SECONDS)
    return min(first * 2 ** min(attempts, 64), longest_backoff)


__all__ = ["MAX_WAIT_SECONDS", "retry_delay"]
