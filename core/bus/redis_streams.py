"""The Redis bus: a Redis Stream read by one consumer group, for when ``REDIS_URL`` is set.

Publishing remembers each event's key for a while (``sk:event-seen:<key>``) and appends the event
to the stream in one atomic step, so a second publish of the same event is refused. Consumers
read with ``XREADGROUP`` and acknowledge (``XACK``) only after the handler has returned. What a
consumer took and never acknowledged stays in the group's pending list: the consumer delivers its
own pending entries again when it starts, and every consumer periodically claims entries that
have been pending for longer than ``claim_idle_ms`` (``XAUTOCLAIM``), from whichever consumer
holds them (a crashed one, or itself after a handler failed). An entry delivered more than
``max_deliveries`` times, or whose payload cannot be decoded, is copied to the dead stream
(``<stream>:dead``) and acknowledged.

Delivery is therefore at least once; handlers make their effects idempotent with ``Event.key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, DataError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.bus.base import BusUnavailable, EventRefused, Handler
from core.bus.replay import DELIVERY_TTL_SECONDS, delivery_key
from core.events import Event, event_from_dict, event_to_dict

log = logging.getLogger(__name__)

# --- keys ---------------------------------------------------------------------------------------
# Every key this bus writes, all under "sk:".
#
#   sk:events                  the stream (default name): one entry per event, field "event" =
#                              JSON of event_to_dict(event). No TTL; trimmed with MAXLEN ~ maxlen.
#   sk:consumers               the consumer group on that stream (default name).
#   <stream>:dead              entries set aside (sk:events:dead by default): the original fields
#                              plus why, which entry, how often delivered. No TTL; MAXLEN ~ maxlen.
#   sk:event-seen:<event.key>  "1" while the event counts as already queued.
#                              TTL dedupe_ttl_seconds (7 days by default).
#   sk:webhook-seen:<id>       "1" once a webhook delivery with that message id was queued by
#                              publish_delivery (the replay guard's key, core/bus/replay.py).
#                              TTL one day.

DEFAULT_STREAM = "sk:events"
DEFAULT_GROUP = "sk:consumers"
DEAD_SUFFIX = ":dead"
SEEN_PREFIX = "sk:event-seen:"
DEFAULT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600


def seen_key(event_key: str) -> str:
    return SEEN_PREFIX + event_key


def dead_stream(stream: str) -> str:
    return stream + DEAD_SUFFIX


# Check-and-append in one atomic step: nothing is written when the event was already seen, and a
# failing XADD leaves no "seen" mark behind (which would make a retry of the publish look like a
# duplicate and lose the event). This is the SET NX + XADD (+ DEL on failure) sequence, done
# server-side so that a connection lost between the steps cannot leave a stale "seen" mark.
# A webhook delivery's message id, when given, is checked and remembered in the same step, so
# that accepting a webhook costs one round trip to Redis (see publish_delivery).
# (All keys in one script: on a Redis Cluster they would need one hash slot; we target a single
# Redis server.)
# KEYS: event seen key, stream[, delivery seen key]. ARGV: TTL seconds, MAXLEN, payload[, delivery
# TTL seconds]. Returns the entry id, or nil when the event or the delivery was seen before.
_PUBLISH_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or (KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1) then
  return false
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
if KEYS[3] then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
end
return id
"""

_FIELD = "event"
_CONNECT_TIMEOUT_SECONDS = 5.0
_SOCKET_TIMEOUT_SECONDS = 5.0
_RETRY_FIRST_SECONDS = 0.1
_RETRY_MAX_SECONDS = 30.0
_LAG_FALLBACK_CAP = 10_000

Entry = tuple[str, dict[str, str] | None]


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RedisStreamsBus:
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        stream: str = DEFAULT_STREAM,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        batch_size: int = 200,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
        dedupe_ttl_seconds: int = DEFAULT_DEDUPE_TTL_SECONDS,
        maxlen: int = 1_000_000,
    ) -> None:
        if block_ms < 1:
            raise ValueError("block_ms must be at least 1 (0 would block forever)")
        self.url = url
        self.stream = stream
        self.dead_stream = dead_stream(stream)
        self.group = group
        self.consumer = consumer or _default_consumer()
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.dedupe_ttl_seconds = dedupe_ttl_seconds
        self.maxlen = maxlen
        # One client for the web threads: its connection pool is thread-safe.
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=_SOCKET_TIMEOUT_SECONDS,
        )
        self._publish_script = self._client.register_script(_PUBLISH_SCRIPT)
        self.where = _describe(self._client.connection_pool.connection_kwargs)

    # --- the web side (synchronous, any thread) ---------------------------------------------

    def publish(self, event: Event) -> bool:
        payload = json.dumps(event_to_dict(event), separators=(",", ":"))
        with self._unavailable_as("queue the event"):
            entry_id = self._publish_script(
                keys=[seen_key(event.key), self.stream],
                args=[self.dedupe_ttl_seconds, self.maxlen, payload],
            )
        return entry_id is not None

    def publish_delivery(self, event: Event, message_id: str) -> bool:
        """Publish a webhook's event and remember its message id, in one round trip.

        False (and nothing written) when the event or a delivery with this message id was
        queued before. When Redis fails nothing is remembered either, so the sender's retry is
        accepted. The message id is kept under the replay guard's key, for a day.
        """
        payload = json.dumps(event_to_dict(event), separators=(",", ":"))
        with self._unavailable_as("queue the event"):
            entry_id = self._publish_script(
                keys=[seen_key(event.key), self.stream, delivery_key(message_id)],
                args=[self.dedupe_ttl_seconds, self.maxlen, payload, DELIVERY_TTL_SECONDS],
            )
        return entry_id is not None

    def backlog(self) -> int:
        """Entries the group has not acknowledged.

        That is the group's pending entries (delivered to a consumer and not acknowledged yet,
        including those waiting for a retry: the count XPENDING reports) plus its lag (entries
        not yet delivered to any consumer of the group), both read from ``XINFO GROUPS``. When
        Redis cannot tell the lag (before Redis 7, or after entries were deleted from the middle
        of the stream) the entries after the group's last-delivered id are counted, up to
        10,000. Before the group exists (no consumer has started yet) every entry in the stream
        is waiting. Dead entries are acknowledged and not counted.
        """
        with self._unavailable_as("report the backlog"):
            try:
                groups = self._client.xinfo_groups(self.stream)
            except ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return 0
                raise
            for info in groups:
                if info.get("name") == self.group:
                    lag = info.get("lag")
                    if lag is None:
                        lag = self._count_after(str(info.get("last-delivered-id", "0-0")))
                    return int(info.get("pending") or 0) + int(lag)
            return int(self._client.xlen(self.stream))

    def _count_after(self, last_id: str) -> int:
        count, start = 0, f"({last_id}"
        while count < _LAG_FALLBACK_CAP:
            page = self._client.xrange(self.stream, min=start, count=1000)
            if not page:
                break
            count += len(page)
            start = f"({page[-1][0]}"
        return min(count, _LAG_FALLBACK_CAP)

    def ping(self) -> None:
        with self._unavailable_as("answer"):
            self._client.ping()

    def close(self) -> None:
        self._client.close()

    @contextlib.contextmanager
    def _unavailable_as(self, doing: str) -> Iterator[None]:
        """Turn Redis errors into :class:`BusUnavailable` with a message safe to show and log,
        and values the client cannot encode into :class:`EventRefused`.

        The message names host and port only, never the URL (which may hold a password).
        """
        try:
            yield
        except (UnicodeError, DataError) as exc:
            # The client could not encode what it was given: the event's fault, nothing written.
            raise EventRefused(f"Redis cannot take this event ({type(exc).__name__})") from exc
        except AuthenticationError as exc:
            raise BusUnavailable(
                f"Redis at {self.where} refused the credentials (check REDIS_URL)"
            ) from exc
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise BusUnavailable(f"Could not reach Redis at {self.where}") from exc
        except RedisError as exc:
            raise BusUnavailable(
                f"Redis at {self.where} did not {doing} ({type(exc).__name__})"
            ) from exc

    # --- the consumer side (asyncio) ---------------------------------------------------------

    async def run(self, handle: Handler, stop: asyncio.Event) -> None:
        client = aioredis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=_CONNECT_TIMEOUT_SECONDS,
            # A blocking XREADGROUP legitimately waits block_ms for an answer.
            socket_timeout=self.block_ms / 1000 + _SOCKET_TIMEOUT_SECONDS,
        )
        consumer = _Consumer(self, client, handle, stop)
        try:
            await consumer.run()
        finally:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()


class _Consumer:
    """One run of the consumer loop, with its own asyncio client."""

    def __init__(
        self, bus: RedisStreamsBus, client: aioredis.Redis, handle: Handler, stop: asyncio.Event
    ) -> None:
        self.bus = bus
        self.client = client
        self.handle = handle
        self.stop = stop
        self.claim_every = max(bus.claim_idle_ms / 2000, 0.01)
        self.retry_in: float | None = None  # set while Redis fails

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                await self.consume()
            except RedisError as exc:
                if self.retry_in is None:
                    log.warning(
                        "event bus: Redis at %s failed (%s: %s); retrying until it answers",
                        self.bus.where,
                        type(exc).__name__,
                        exc,
                    )
                    self.retry_in = _RETRY_FIRST_SECONDS
                else:
                    self.retry_in = min(self.retry_in * 2, _RETRY_MAX_SECONDS)
                await _sleep_unless(self.stop, self.retry_in)

    async def consume(self) -> None:
        """Deliver until ``stop`` is set; a Redis error ends it (the caller retries)."""
        bus = self.bus
        await self.ensure_group()
        await self.deliver_own_pending()
        if self.retry_in is not None:
            self.retry_in = None
            log.info("event bus: Redis at %s answers again", bus.where)
        loop = asyncio.get_running_loop()
        next_claim = loop.time()
        while not self.stop.is_set():
            if loop.time() >= next_claim:
                await self.reclaim_stale()
                next_claim = loop.time() + self.claim_every
                continue
            until_claim_ms = int((next_claim - loop.time()) * 1000)
            reply = await self.client.xreadgroup(
                bus.group,
                bus.consumer,
                {bus.stream: ">"},
                count=bus.batch_size,
                block=max(1, min(bus.block_ms, until_claim_ms)),
            )
            entries = _entries(reply)
            if entries:
                await self.deliver(entries, first_delivery=True)

    async def ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.bus.stream, self.bus.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def deliver_own_pending(self) -> None:
        """Deliver again what this consumer took before and never acknowledged."""
        bus, after = self.bus, "0"
        while not self.stop.is_set():
            reply = await self.client.xreadgroup(
                bus.group, bus.consumer, {bus.stream: after}, count=bus.batch_size
            )
            entries = _entries(reply)
            if not entries:
                return
            await self.deliver(entries, first_delivery=False)
            after = entries[-1][0]

    async def reclaim_stale(self) -> None:
        """Claim entries pending longer than ``claim_idle_ms`` (any consumer's) and deliver them."""
        bus, cursor = self.bus, "0-0"
        while not self.stop.is_set():
            reply = await self.client.xautoclaim(
                bus.stream,
                bus.group,
                bus.consumer,
                min_idle_time=bus.claim_idle_ms,
                start_id=cursor,
                count=bus.batch_size,
            )
            cursor, claimed = str(reply[0]), list(reply[1])
            deleted = list(reply[2]) if len(reply) > 2 else []
            if deleted:
                log.error(
                    "event bus: %d pending entr(y/ies) trimmed from %s before being handled: %s",
                    len(deleted),
                    bus.stream,
                    ", ".join(map(str, deleted[:10])),
                )
            if claimed:
                await self.deliver(claimed, first_delivery=False)
            if cursor == "0-0":
                return

    async def deliver(self, entries: Sequence[Entry], *, first_delivery: bool) -> None:
        bus = self.bus
        counts = {} if first_delivery else await self.delivery_counts([i for i, _ in entries])
        for entry_id, fields in entries:
            if self.stop.is_set():
                return  # what is left stays pending and is delivered again later
            if first_delivery:
                deliveries = 1
            elif entry_id in counts:
                deliveries = counts[entry_id]
            else:
                continue  # acknowledged or claimed by another consumer meanwhile
            if not fields:
                log.error("event bus: entry %s was trimmed from %s unhandled", entry_id, bus.stream)
                await self.client.xack(bus.stream, bus.group, entry_id)
                continue
            try:
                event = event_from_dict(json.loads(fields[_FIELD]))
            except (KeyError, TypeError, ValueError) as exc:
                await self.bury(entry_id, fields, f"undecodable: {exc}", deliveries)
                continue
            if deliveries > bus.max_deliveries:
                reason = f"{event.key} not acknowledged after {deliveries - 1} deliveries"
                await self.bury(entry_id, fields, reason, deliveries)
                continue
            try:
                await self.handle(event)
            except Exception:
                log.exception(
                    "handling %s failed (delivery %d of %d)",
                    event.key,
                    deliveries,
                    bus.max_deliveries,
                )
                continue  # stays pending; reclaimed after claim_idle_ms
            await self.client.xack(bus.stream, bus.group, entry_id)

    async def delivery_counts(self, entry_ids: Sequence[str]) -> dict[str, int]:
        """How often each entry was delivered, for those still pending with this consumer."""
        bus = self.bus
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(
                    bus.stream, bus.group, entry_id, entry_id, 1, consumername=bus.consumer
                )
            replies = await pipe.execute()
        return {
            str(info["message_id"]): int(info["times_delivered"])
            for reply in replies
            for info in reply
        }

    async def bury(
        self, entry_id: str, fields: dict[str, str], reason: str, deliveries: int
    ) -> None:
        """Copy the entry to the dead stream and acknowledge it, in one transaction."""
        bus = self.bus
        log.error("event bus: entry %s set aside in %s: %s", entry_id, bus.dead_stream, reason)
        dead: dict[Any, Any] = {
            **fields,
            "reason": reason[:2000],
            "entry_id": entry_id,
            "deliveries": deliveries,
            "consumer": bus.consumer,
            "dead_at": datetime.now(UTC).isoformat(),
        }
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(bus.dead_stream, dead, maxlen=bus.maxlen, approximate=True)
            pipe.xack(bus.stream, bus.group, entry_id)
            await pipe.execute()


def _entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply for our one stream (RESP2 list or RESP3 dict)."""
    if not reply:
        return []
    # RESP3: {stream: [[(id, fields), ...]]}; RESP2: [[stream, [(id, fields), ...]]]
    entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
    return [(str(entry_id), fields) for entry_id, fields in entries]


def _describe(kwargs: dict[str, Any]) -> str:
    """Where the client connects, without credentials: ``host:port`` or the socket path."""
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


__all__ = ["DEFAULT_GROUP", "DEFAULT_STREAM", "RedisStreamsBus", "dead_stream", "seen_key"]
