"""The windows in Redis, shared by every process of a deployment that has ``REDIS_URL``.

Each key is a sorted set ``sk:rate:<key>`` of its slots, scored by when each was taken (then
re-stamped) in milliseconds of the Redis server's clock (``TIME``), so the processes' own clocks
never matter. Taking a slot is one Lua script (drop what left the window, count, add or say how
long to wait), so two processes never both take the last one. The set expires a second after
its newest slot leaves the window.

While Redis does not answer, a process paces on its own windows in memory (logged once per
outage) and asks Redis again every ``retry_redis_seconds``; it never sends unpaced. Its memory
holds every slot it took in Redis too, so the outage starts from what it sent itself, and it
takes its share of each limit only (the limit over the bot processes alive, ``processes()``; a
limit of fewer requests than processes, over a window as many times longer), so that the
processes together keep it. When Redis answers again, the process first puts the
slots its memory still holds back in Redis (those Redis kept count once), so a Redis that
restarted empty does not let a window's worth through again at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import redis

from core.ratelimits.windows import Limit, MemoryWindows, Taken, Windows

log = logging.getLogger(__name__)

PREFIX = "sk:rate:"
RETRY_REDIS_SECONDS = 5.0

# KEYS[1] the window; ARGV: window (ms), limit, member. 0 when taken, else ms to wait.
# Times are the server's, in ms: a slot is stamped rounded up and the window's start is
# rounded down, so a slot leaves the window no sooner than ``window`` after it was stamped.
_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local stamp, now_floor = math.ceil(now), math.floor(now)
"""

# KEYS[1] the window; ARGV: window (ms), limit, member. 0 when taken, else ms to wait.
_TAKE = (
    _NOW
    + """
local key, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now_floor - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, stamp, ARGV[3])
  redis.call('PEXPIRE', key, window + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now_floor, 1)
"""
)

# KEYS[1] the window; ARGV: window (ms), then member and age (ms) pairs: each slot is added as
# taken that long ago, unless the window holds it already.
_SEED = (
    _NOW
    + """
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'NX', math.ceil(now - tonumber(ARGV[i + 1])), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000)
return 0
"""
)

# KEYS[1] the window; ARGV: window (ms), member. The member counts from now, added if gone.
_RESTAMP = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], stamp, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000)
return 0
"""
)


class RedisWindows(Windows):
    """``client`` is a synchronous client (its calls run in a worker thread, never on the
    loop); ``memory`` the fallback (and ``clock`` times the retries of Redis after a failure);
    ``processes()`` how many bot processes share the limits (their share is this one's while
    Redis is out)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        memory: MemoryWindows | None = None,
        retry_redis_seconds: float = RETRY_REDIS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        processes: Callable[[], int] = lambda: 1,
    ) -> None:
        super().__init__(sleep)
        self.client = client
        self.memory = memory if memory is not None else MemoryWindows(sleep=sleep)
        self.retry_redis_seconds = retry_redis_seconds
        self.clock = clock
        self.processes = processes
        self._take_script = client.register_script(_TAKE)
        self._restamp_script = client.register_script(_RESTAMP)
        self._seed_script = client.register_script(_SEED)
        self._down_since: float | None = None  # when Redis last failed, while it is out

    async def _try_take(self, key: str, limit: Limit, member: str) -> tuple[Taken | None, float]:
        if self._is_redis_worth_asking():
            window_ms = _milliseconds(limit)
            try:
                if self._down_since is not None:  # back, maybe empty: what was sent first
                    await asyncio.to_thread(self._seed)
                wait_ms = await asyncio.to_thread(
                    self._take_script, keys=[PREFIX + key], args=[window_ms, limit.requests, member]
                )
            except redis.RedisError as exc:
                self._went_down(exc)
            else:
                self._came_back()
                if int(wait_ms) > 0:
                    return None, int(wait_ms) / 1000
                self.memory.stamp(key, limit, member)  # for an outage that starts now
                return Taken(key, limit, member, is_shared=True), 0.0
        share = _share(limit, self.processes())
        wait = self.memory.try_take_now(key, share, member)
        return (Taken(key, limit, member, is_shared=False), 0.0) if wait == 0 else (None, wait)

    def _seed(self) -> None:
        """Put the slots this process's memory holds in Redis, as taken when they were."""
        for key, (seconds, ages) in self.memory.slots_held().items():
            pairs = [part for member, age in ages.items() for part in (member, round(age * 1000))]
            window_ms = max(1, round(seconds * 1000))
            self._seed_script(keys=[PREFIX + key], args=[window_ms, *pairs])

    async def restamp(self, taken: Taken) -> None:
        self.memory.stamp(taken.key, taken.limit, taken.member)
        if not taken.is_shared:
            return
        try:
            await asyncio.to_thread(
                self._restamp_script,
                keys=[PREFIX + taken.key],
                args=[_milliseconds(taken.limit), taken.member],
            )
        except redis.RedisError as exc:
            self._went_down(exc)

    async def give_back(self, taken: Taken) -> None:
        self.memory.forget(taken.key, taken.member)
        if not taken.is_shared:
            return
        try:
            await asyncio.to_thread(self.client.zrem, PREFIX + taken.key, taken.member)
        except redis.RedisError as exc:
            self._went_down(exc)

    def _is_redis_worth_asking(self) -> bool:
        down_since = self._down_since
        return down_since is None or self.clock() - down_since >= self.retry_redis_seconds

    def _went_down(self, exc: redis.RedisError) -> None:
        if self._down_since is None:
            log.warning(
                "rate limits: Redis did not answer (%s); pacing in this process only until it does",
                type(exc).__name__,
            )
        self._down_since = self.clock()

    def _came_back(self) -> None:
        if self._down_since is not None:
            log.info("rate limits: Redis answers again; pacing shared by every process")
            self._down_since = None


def _share(limit: Limit, processes: int) -> Limit:
    """One process's part of ``limit`` while each of ``processes`` paces alone: the requests
    cut among them, or, for a limit of fewer requests than processes (Kick's one chat line a
    second), the same requests over a window as many times longer."""
    processes = max(1, processes)
    if limit.requests >= processes:
        return Limit(limit.requests // processes, limit.seconds)
    return Limit(1, limit.seconds * processes / limit.requests)


def _milliseconds(limit: Limit) -> int:
    return max(1, round(limit.seconds * 1000))


__all__ = ["PREFIX", "RedisWindows"]
