"""The Redis bus: a Redis Stream read by one consumer group, for when ``REDIS_URL`` is set.

Publishing remembers each event's key for a while (``sk:event-seen:<key>``) and appends the
event to the stream in one atomic step, so a second publish of the same event is refused.
Consumers read with ``XREADGROUP`` and acknowledge (``XACK``) only after the handler has
returned. What a consumer took and never acknowledged stays in the group's pending list: the
consumer has its own name per process (host, pid and a random part, unless given), takes over at
once the entries of consumers Redis has not heard from for ``dead_consumer_ms`` (a restarted
process's earlier self among them: ``core/bus/redis_takeover.py``), and every consumer
periodically claims entries that have been pending for longer than ``claim_idle_ms``
(``XAUTOCLAIM``), from whichever consumer holds them (a crashed one, or itself after a handler
failed). An entry whose handler failed ``max_deliveries`` times, or whose payload cannot be
decoded, is copied to the dead stream (``<stream>:dead``) and acknowledged. Only a handler's
own failures count (kept in ``<stream>:failures``, seen by every consumer): a delivery that met
a store away, or went to a process killed before it answered, is not the event's fault.

Delivery is therefore at least once; handlers make their effects idempotent with ``Event.key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, DataError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.bus.base import (
    DEAD_RETENTION,
    BusUnavailable,
    EventRefused,
    Handler,
    decoded_events,
    stamped_before,
)
from core.bus.redis_consumer import FIELD, Consumer
from core.bus.redis_waiting import waiting_set
from core.bus.replay import DELIVERY_TTL_SECONDS, delivery_key
from core.events import Event, event_to_dict
from core.ownership.share import process_name

log = logging.getLogger(__name__)

# --- keys ---------------------------------------------------------------------------------------
# Every key this bus writes, all under "sk:".
#
#   sk:events                  the stream (default name): one entry per event, field "event" =
#                              JSON of event_to_dict(event). No TTL; trimmed with MAXLEN ~ maxlen.
#   sk:consumers               the consumer group on that stream (default name).
#   <stream>:dead              entries set aside (sk:events:dead by default): the original fields
#                              plus why, which entry, how often delivered. No TTL; MAXLEN ~ maxlen,
#                              and entries set aside over DEAD_RETENTION (30 days) ago trimmed by
#                              prune (XTRIM MINID), as the embedded bus deletes its dead rows.
#   sk:event-seen:<event.key>  "1" while the event counts as already queued.
#                              TTL dedupe_ttl_seconds (7 days by default).
#   sk:webhook-seen:<id>       "1" once a webhook delivery with that message id was queued by
#                              publish_delivery (the replay guard's key, core/bus/replay.py).
#                              TTL one day.
#   <stream>:waiting           entries whose handler was not ready yet, until due
#                              (sk:events:waiting by default; core/bus/redis_waiting.py).

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

_CONNECT_TIMEOUT_SECONDS = 5.0
_SOCKET_TIMEOUT_SECONDS = 5.0
_LAG_FALLBACK_CAP = 10_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        dead_consumer_ms: int = 10_000,
        max_deliveries: int = 5,
        dedupe_ttl_seconds: int = DEFAULT_DEDUPE_TTL_SECONDS,
        maxlen: int = 1_000_000,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if block_ms < 1:
            raise ValueError("block_ms must be at least 1 (0 would block forever)")
        self.url = url
        self.stream = stream
        self.dead_stream = dead_stream(stream)
        self.group = group
        self.consumer = consumer or process_name()
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.dead_consumer_ms = dead_consumer_ms
        self.max_deliveries = max_deliveries
        self.dedupe_ttl_seconds = dedupe_ttl_seconds
        self.maxlen = maxlen
        self.clock = clock  # when entries waiting for a handler that was not ready are due
        # The consumer names of bot processes known to be gone (their lease ran out): what they
        # read and never acknowledged is taken over at once (core/bus/redis_takeover.py). The
        # runtime sets it to its Ownership's gone_processes.
        self.gone_consumers: Callable[[], frozenset[str]] = frozenset
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
        is waiting. Entries in the waiting room (their handler was not ready) count too. Dead
        entries are acknowledged and not counted.
        """
        with self._unavailable_as("report the backlog"):
            waiting = int(self._client.zcard(waiting_set(self.stream)))
            try:
                groups = self._client.xinfo_groups(self.stream)
            except ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return waiting
                raise
            for info in groups:
                if info.get("name") == self.group:
                    lag = info.get("lag")
                    if lag is None:
                        lag = self._count_after(str(info.get("last-delivered-id", "0-0")))
                    return int(info.get("pending") or 0) + int(lag) + waiting
            return int(self._client.xlen(self.stream)) + waiting

    def oldest_unhandled(self) -> datetime | None:
        """When the oldest entry the group has not acknowledged was queued (entry ids are Redis
        server times in ms); None when there is none."""
        with self._unavailable_as("report the backlog"):
            candidates: list[str] = []
            try:
                groups = self._client.xinfo_groups(self.stream)
            except ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return None
                raise
            after = "-"
            for info in groups:
                if info.get("name") == self.group:
                    after = f"({info.get('last-delivered-id', '0-0')}"
                    summary = self._client.xpending(self.stream, self.group)
                    if summary.get("pending"):
                        candidates.append(str(summary["min"]))
            first = self._client.xrange(self.stream, min=after, count=1)
            if first:
                candidates.append(str(first[0][0]))
        if not candidates:
            return None
        oldest_ms = min(int(entry_id.split("-")[0]) for entry_id in candidates)
        return datetime.fromtimestamp(oldest_ms / 1000, UTC)

    def unhandled_before(self, before: datetime, limit: int) -> list[Event] | None:
        """The group's pending entries and the entries not yet delivered whose events are
        stamped before ``before``; None when there are more than ``limit`` of them in all."""
        with self._unavailable_as("report the backlog"):
            try:
                groups = self._client.xinfo_groups(self.stream)
            except ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return []
                raise
            after, pending = "-", []
            for info in groups:
                if info.get("name") == self.group:
                    after = f"({info.get('last-delivered-id', '0-0')}"
                    pending = self._client.xpending_range(
                        self.stream, self.group, min="-", max="+", count=limit + 1
                    )
            fresh = self._client.xrange(self.stream, min=after, max="+", count=limit + 1)
            if len(pending) + len(fresh) > limit:
                return None
            entries = list(fresh)
            for entry in pending:
                entries.extend(
                    self._client.xrange(
                        self.stream, min=entry["message_id"], max=entry["message_id"], count=1
                    )
                )
        events = decoded_events([fields.get(FIELD, "") for _, fields in entries])
        return stamped_before(events, before)

    def _count_after(self, last_id: str) -> int:
        count, start = 0, f"({last_id}"
        while count < _LAG_FALLBACK_CAP:
            page = self._client.xrange(self.stream, min=start, count=1000)
            if not page:
                break
            count += len(page)
            start = f"({page[-1][0]}"
        return min(count, _LAG_FALLBACK_CAP)

    def prune(self) -> int:
        """Trim the dead stream's entries set aside more than ``DEAD_RETENTION`` ago (an
        entry's id is the Redis time it was set aside, in ms); return how many."""
        cutoff = self.clock() - DEAD_RETENTION
        with self._unavailable_as("trim the dead events"):
            minid = f"{int(cutoff.timestamp() * 1000)}-0"
            return int(self._client.xtrim(self.dead_stream, minid=minid, approximate=False))

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
        consumer = Consumer(self, client, handle, stop)
        try:
            await consumer.run()
        finally:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()


def _describe(kwargs: dict[str, Any]) -> str:
    """Where the client connects, without credentials: ``host:port`` or the socket path."""
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


__all__ = ["DEFAULT_GROUP", "DEFAULT_STREAM", "RedisStreamsBus", "dead_stream", "seen_key"]
