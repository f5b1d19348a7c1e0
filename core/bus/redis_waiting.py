"""The Redis bus's waiting room: entries whose handler answered "not ready" (Discord still
connecting), set aside until their time comes without spending their deliveries.

An entry's delivery count lives in the consumer group and only grows, so an entry cannot wait
in the group's pending list: every claim would count against it. Instead the entry leaves the
stream (acknowledged) for a sorted set scored by when it is due, in one transaction, and comes
back as a new stream entry when due (one Lua script, so it is never in both or neither). It
carries how often it waited (``waits``, for the backoff) and the real failures it had before
(``failures``), which still count towards setting it aside as dead.

    <stream>:failures  hash; entry id -> a handler's failures on it so far (deleted when the
                       entry is acknowledged, set aside or sent to wait).
    <stream>:waiting   sorted set; member = JSON of the entry's fields plus "waits",
                       "failures" and "waited_from" (the entry id it left, which keeps members
                       unique); score = due time in epoch milliseconds. No TTL: an entry stays
                       until it is due and moved back.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from core.bus.base import not_ready_delay

WAITING_SUFFIX = ":waiting"
FAILURES_SUFFIX = ":failures"
WAITS_FIELD = "waits"
FAILURES_FIELD = "failures"
_FROM_FIELD = "waited_from"

# KEYS: waiting set, stream. ARGV: now (epoch ms), how many at most, MAXLEN.
# Moves every due member back to the stream as a new entry; returns how many.
_RELEASE_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  local fields = cjson.decode(member)
  local args = {}
  for name, value in pairs(fields) do
    args[#args + 1] = name
    args[#args + 1] = value
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(args))
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""


def waiting_set(stream: str) -> str:
    return stream + WAITING_SUFFIX


def failures_hash(stream: str) -> str:
    """The hash of the stream's entries' failures so far: entry id -> how often a handler
    failed on it (a delivery that met an outage, or whose process was killed, is none)."""
    return stream + FAILURES_SUFFIX


def carried_failures(fields: dict[str, str]) -> int:
    """Real failures an entry had before it last waited (0 for an entry that never waited)."""
    try:
        return max(int(fields.get(FAILURES_FIELD, 0)), 0)
    except ValueError:
        return 0


async def park(
    client: aioredis.Redis,
    *,
    stream: str,
    group: str,
    entry_id: str,
    fields: dict[str, str],
    failures: int,
    failures_key: str,
    now_ms: int,
) -> float:
    """Move the entry to the waiting room and acknowledge it, in one transaction, carrying
    the ``failures`` it had (its count under ``failures_key`` goes). Returns the delay in
    seconds."""
    waits = int(fields.get(WAITS_FIELD, 0) or 0) + 1
    delay = not_ready_delay(waits)
    member: dict[str, Any] = {
        **{name: value for name, value in fields.items() if name != _FROM_FIELD},
        WAITS_FIELD: str(waits),
        FAILURES_FIELD: str(failures),
        _FROM_FIELD: entry_id,
    }
    async with client.pipeline(transaction=True) as pipe:
        pipe.zadd(
            waiting_set(stream), {json.dumps(member, sort_keys=True): now_ms + int(delay * 1000)}
        )
        pipe.xack(stream, group, entry_id)
        pipe.hdel(failures_key, entry_id)
        await pipe.execute()
    return delay


class WaitingRoom:
    """Moves due entries back to the stream (run by the consumer before each read)."""

    def __init__(self, client: aioredis.Redis, stream: str, *, batch: int, maxlen: int) -> None:
        self.client = client
        self.keys = [waiting_set(stream), stream]
        self.batch = batch
        self.maxlen = maxlen
        self._release = client.register_script(_RELEASE_SCRIPT)

    async def release_due(self, now_ms: int) -> int:
        return int(await self._release(keys=self.keys, args=[now_ms, self.batch, self.maxlen]))
