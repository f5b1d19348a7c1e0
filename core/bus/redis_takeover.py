"""Taking over what a dead consumer of the Redis bus had read and never acknowledged.

A consumer's pending entries stay with its name until someone claims them. Each bot process
consumes under its own name (host, pid and a random part), so a restarted bot is a new consumer.
A consumer counts as gone when its bot process's lease ran out (``Ownership.gone_processes``:
the other processes know it within 6 s of a kill), or when Redis has not heard from it for
``dead_after_ms`` (a process no lease told of). A gone consumer's entries are claimed at once,
whatever their idle time, and a consumer left with nothing pending is removed from the group.
Claiming from a consumer that was only slow is harmless: delivery is at least once and effects
are idempotent; only consumers with nothing pending are ever deleted, so no entry can be dropped
from the group's pending list.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


def is_gone(info: dict[str, Any], dead_after_ms: int) -> bool:
    """Whether Redis has not heard from this consumer for ``dead_after_ms``.

    ``inactive`` (Redis 7.2+) is the time since its last successful read or claim; older
    servers report ``idle`` only.
    """
    inactive = info.get("inactive")
    idle = int(inactive if inactive is not None and int(inactive) >= 0 else info.get("idle", 0))
    return idle >= dead_after_ms


async def dead_consumers(
    client: aioredis.Redis,
    stream: str,
    group: str,
    me: str,
    dead_after_ms: int,
    known_gone: Collection[str] = (),
) -> list[tuple[str, int]]:
    """The other consumers of ``group`` that count as gone, with how many entries they hold:
    those Redis has not heard from for ``dead_after_ms``, and those ``known_gone`` names (bot
    processes whose lease ran out: ``Ownership.gone_processes``) at once."""
    consumers = await client.xinfo_consumers(stream, group)
    return [
        (str(info["name"]), int(info.get("pending") or 0))
        for info in consumers
        if str(info["name"]) != me
        and (str(info["name"]) in known_gone or is_gone(info, dead_after_ms))
    ]


async def claim_from(
    client: aioredis.Redis, stream: str, group: str, me: str, dead: str, count: int
) -> list[Any]:
    """Claim up to ``count`` of ``dead``'s pending entries for ``me``; their (id, fields)."""
    pending = await client.xpending_range(stream, group, "-", "+", count, consumername=dead)
    ids = [str(info["message_id"]) for info in pending]
    if not ids:
        return []
    return list(await client.xclaim(stream, group, me, min_idle_time=0, message_ids=ids))


async def forget(client: aioredis.Redis, stream: str, group: str, dead: str) -> None:
    """Remove a gone consumer, but only while it holds nothing (never drop a pending entry)."""
    for info in await client.xinfo_consumers(stream, group):
        if str(info["name"]) == dead and int(info.get("pending") or 0) == 0:
            await client.xgroup_delconsumer(stream, group, dead)
            log.info("event bus: removed the consumer %s, gone and holding nothing", dead)
