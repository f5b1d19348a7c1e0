"""The live streams' caps per overlay link, per server and per client address, counted across
every web process through Redis. Without Redis each process counts its own streams
(:mod:`core.web.dashboard.live_admission`), which stays the first check here too, with the
process's own bound (``LIVE_MAX_STREAMS``: threads are per process) and its fair shares.

An admitted stream holds one entry in a sorted set per overlay link, server and client address
it counts against, scored by when its lease ends. Its stream renews the lease while it runs
(at its heartbeats) and takes the entries back when it ends; a killed process's streams stop
counting when their leases run out, within :data:`LEASE_SECONDS`. Checking every cap and taking
every place is one script, so two processes never both take a last place. The keys name an
overlay link and a client address by a digest: neither a link's secret nor an address is
written to Redis. The sets' clock is the wall clock, which every process shares.

While Redis does not answer, a process admits by its own counts alone (logged), never by no
count; after a failure it leaves Redis alone for a while (:class:`RedisPause`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

from core.web.dashboard.live_admission import (
    CLIENT_FULL,
    OVERLAY_FULL,
    SERVER_FULL,
    LiveCaps,
    Refusal,
    Ticket,
)
from core.web.dashboard.redis_counts import RedisPause, key_digest

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0  # an entry's life unless its stream renews it
RENEW_SECONDS = 20.0  # how often a running stream renews its entries
PREFIX = "live:caps:"

# KEYS: the sets; ARGV: now, the lease's end, the member, then each key's cap in KEYS' order.
# Returns 0 when every place was taken, else the number (from 1) of the first full set.
_TAKE = """
local now, ends, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, member) == false
     and redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ends, member)
  redis.call('PEXPIRE', key, ARGV[#ARGV])
end
return 0
"""


class SharedCaps:
    def __init__(
        self,
        client: redis.Redis,
        caps: Callable[[], LiveCaps],
        process: str,
        *,
        clock: Callable[[], float] = time.time,  # wall clock: every process must agree
        lease_seconds: float = LEASE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``caps()``: the caps now (a test or the settings may change them); ``process``:
        this process's name, which its entries carry."""
        self.client = client
        self.caps = caps
        self.process = process
        self.clock = clock
        self.lease_seconds = lease_seconds
        self._take = client.register_script(_TAKE)
        self.pause = RedisPause(log, "live streams", monotonic)

    def take(self, ticket: Ticket) -> Refusal | None:
        """Take the ticket's places in every process's counts; the refusal of the first cap
        that is full (nothing taken then), or None. Redis not answering: None (logged)."""
        if self.pause.active:
            return None
        keys, caps, words = self._places(ticket)
        now = self.clock()
        expire_ms = int(2 * self.lease_seconds * 1000)
        args = [now, now + self.lease_seconds, self._member(ticket), *caps, expire_ms]
        try:
            full = int(self._take(keys=keys, args=args))
        except redis.RedisError as exc:
            self.pause.failed(exc, "admitted by this process's counts alone")
            return None
        return Refusal(words[full - 1]) if full else None

    def renew(self, ticket: Ticket) -> None:
        """Push the ticket's lease on (its stream still runs)."""
        if self.pause.active:
            return
        keys, _caps, _words = self._places(ticket)
        ends = self.clock() + self.lease_seconds
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zadd(key, {self._member(ticket): ends})
                    pipe.pexpire(key, int(2 * self.lease_seconds * 1000))
                pipe.execute()
        except redis.RedisError as exc:
            self.pause.failed(exc, "a stream's places were not renewed")

    def give_back(self, ticket: Ticket) -> None:
        """The stream ended: its places are free for every process (taking them back twice
        does nothing; while Redis is left alone, they wait for their lease to end)."""
        if self.pause.active:
            return
        keys, _caps, _words = self._places(ticket)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, self._member(ticket))
                pipe.execute()
        except redis.RedisError as exc:
            self.pause.failed(exc, "a stream's places wait for their lease to end")

    def _places(self, ticket: Ticket) -> tuple[list[str], list[int], list[str]]:
        caps = self.caps()
        places = [(f"{PREFIX}overlay:{key_digest(t)}", caps.per_overlay, OVERLAY_FULL)
                  for t in sorted(ticket.tokens)]  # fmt: skip
        places += [(f"{PREFIX}server:{g}", caps.per_guild, SERVER_FULL)
                   for g in sorted(ticket.guilds)]  # fmt: skip
        places.append((f"{PREFIX}client:{key_digest(ticket.client)}", caps.per_client, CLIENT_FULL))
        keys, limits, words = zip(*places, strict=True)
        return list(keys), list(limits), list(words)

    def _member(self, ticket: Ticket) -> str:
        return f"{self.process}:{ticket.number}"
