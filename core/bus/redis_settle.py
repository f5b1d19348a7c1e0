"""How the Redis consumer settles an entry for good: acknowledged once handled (or trimmed), or
set aside in the dead stream; either way its failures so far (``<stream>:failures``) go with it,
in the same transaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from core.bus.redis_waiting import failures_hash

if TYPE_CHECKING:
    from core.bus.redis_streams import RedisStreamsBus

log = logging.getLogger(__name__)


async def acknowledge(client: aioredis.Redis, bus: RedisStreamsBus, entry_id: str) -> None:
    async with client.pipeline(transaction=True) as pipe:
        pipe.xack(bus.stream, bus.group, entry_id)
        pipe.hdel(failures_hash(bus.stream), entry_id)
        await pipe.execute()


async def bury(
    client: aioredis.Redis,
    bus: RedisStreamsBus,
    entry_id: str,
    fields: dict[str, str],
    reason: str,
    deliveries: int,
) -> None:
    """Copy the entry to the dead stream and acknowledge it, in one transaction."""
    log.error("event bus: entry %s set aside in %s: %s", entry_id, bus.dead_stream, reason)
    dead: dict[Any, Any] = {
        **fields,
        "reason": reason[:2000],
        "entry_id": entry_id,
        "deliveries": deliveries,  # this one counted
        "consumer": bus.consumer,
        "dead_at": datetime.now(UTC).isoformat(),
    }
    async with client.pipeline(transaction=True) as pipe:
        pipe.xadd(bus.dead_stream, dead, maxlen=bus.maxlen, approximate=True)
        pipe.xack(bus.stream, bus.group, entry_id)
        pipe.hdel(failures_hash(bus.stream), entry_id)
        await pipe.execute()
