"""A Redis that does not answer, for tests of what the web side does without it: a client of a
closed port on 127.0.0.1 that fails at once (no retries) and counts the scripts it was asked to
run, so a test can tell whether Redis was asked at all."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


class GoneRedis(redis.Redis):
    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
        self.sent = 0  # scripts asked for (each failed)

    def evalsha(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.sent += 1
        return super().evalsha(*args, **kwargs)
