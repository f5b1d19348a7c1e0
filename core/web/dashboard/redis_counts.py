"""What the dashboard's counts kept in Redis (the rate limits, the live streams' caps) share:
leaving Redis alone for a while after it failed, and the digest that names a key.

While Redis does not answer, each such count falls back to its process's own, never to no
count. A client of a Redis that is gone retries for seconds before it gives up (redis-py's
defaults: about 4 s on a closed port), so after a failure :class:`RedisPause` keeps Redis out of
the way for :data:`PAUSE_SECONDS`, and an outage does not make every request wait that long.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

PAUSE_SECONDS = 30.0  # after Redis failed, how long the counts are this process's own


class RedisPause:
    """When to ask Redis again; logs each failure, so at most once per pause."""

    def __init__(
        self, log: logging.Logger, what: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        """``what``: the count's name in the log line (``"rate limit login"``)."""
        self.log = log
        self.what = what
        self.monotonic = monotonic
        self._until = float("-inf")

    @property
    def active(self) -> bool:
        return self.monotonic() < self._until

    def failed(self, exc: Exception, meanwhile: str) -> None:
        """Redis failed: leave it alone for :data:`PAUSE_SECONDS`; ``meanwhile`` says what the
        process does instead (``"counted per process"``)."""
        self._until = self.monotonic() + PAUSE_SECONDS
        self.log.warning(
            "%s: Redis unavailable (%s); %s; asked again in %g s",
            self.what,
            exc,
            meanwhile,
            PAUSE_SECONDS,
        )


def key_digest(text: str) -> str:
    """A key's part for a secret or a client's address: neither is written to Redis."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
