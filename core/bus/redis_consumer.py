"""The Redis bus's consumer loop: read, deliver, acknowledge, retry, take over, set aside.

``RedisStreamsBus.run`` starts one :class:`Consumer` with its own asyncio client; the module
docstring of :mod:`core.bus.redis_streams` says how delivery works.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from core.bus import redis_takeover
from core.bus.base import Handler, NotReady, is_outage
from core.bus.redis_settle import acknowledge, bury
from core.bus.redis_waiting import WaitingRoom, carried_failures, failures_hash, park
from core.events import Event, event_from_dict

if TYPE_CHECKING:
    from core.bus.redis_streams import RedisStreamsBus

log = logging.getLogger(__name__)

FIELD = "event"  # the entry field that holds the event's JSON
_RETRY_FIRST_SECONDS = 0.1
_RETRY_MAX_SECONDS = 30.0
# While the database is away: retry this consumer's pending entries within seconds, so that the
# backlog is handled soon after it answers (and the watchtime ticks waiting for it run).
_OUTAGE_FIRST_SECONDS = 0.5
_OUTAGE_MAX_SECONDS = 5.0
GONE_POLL_SECONDS = 0.1  # how often the consumer asks whether a bot process is gone

Entry = tuple[str, dict[str, str] | None]


@dataclass
class _Round:
    """What went wrong in one round of deliveries."""

    failed: bool = False  # a handler failed
    away: bool = False  # a store a handler needs did not answer
    outage: str = ""  # what the first handler that met an outage said


class Consumer:
    """One run of the consumer loop, with its own asyncio client."""

    def __init__(
        self, bus: RedisStreamsBus, client: aioredis.Redis, handle: Handler, stop: asyncio.Event
    ) -> None:
        self.bus = bus
        self.client = client
        self.handle = handle
        self.stop = stop
        self.claim_every = max(min(bus.claim_idle_ms, bus.dead_consumer_ms) / 2000, 0.01)
        self.retry_in: float | None = None  # set while Redis fails
        self.waiting = WaitingRoom(client, bus.stream, batch=bus.batch_size, maxlen=bus.maxlen)
        # After a handler failed: when to deliver this consumer's pending entries again (with
        # backoff, as the embedded bus does), rather than waiting claim_idle_ms for XAUTOCLAIM.
        self.failures = 0
        self.retry_own_at: float | None = None
        # Rounds in a row in which a store was away (an outage is not the event's failure).
        self.outage_rounds = 0
        self.failures_key = failures_hash(bus.stream)
        self.taken_from: frozenset[str] = frozenset()  # gone processes already taken over
        self.taking_over = asyncio.Lock()

    def now_ms(self) -> int:
        return int(self.bus.clock().timestamp() * 1000)

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
        await self.take_over_dead_consumers()
        if self.retry_in is not None:
            self.retry_in = None
            log.info("event bus: Redis at %s answers again", bus.where)
        watcher = asyncio.create_task(self.watch_for_gone_processes())
        try:
            await self.read_and_deliver()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await watcher

    async def watch_for_gone_processes(self) -> None:
        """Take over a gone process's entries as soon as the leases tell (``gone_consumers``),
        beside the reads: a round of deliveries can take a second on a loaded machine, and the
        first tick of the partitions taken from that process waits for these entries."""
        while not self.stop.is_set():
            if self.bus.gone_consumers() - self.taken_from:
                try:
                    await self.take_over_dead_consumers()
                except RedisError:  # the reads notice it too, and retry; so does this
                    log.debug("event bus: taking over a gone process failed", exc_info=True)
            await _sleep_unless(self.stop, GONE_POLL_SECONDS)

    async def read_and_deliver(self) -> None:
        bus = self.bus
        loop = asyncio.get_running_loop()
        next_claim = loop.time()
        while not self.stop.is_set():
            if loop.time() >= next_claim:
                await self.take_over_dead_consumers()
                await self.reclaim_stale()
                next_claim = loop.time() + self.claim_every
                continue
            await self.waiting.release_due(self.now_ms())
            if self.retry_own_at is not None and loop.time() >= self.retry_own_at:
                self.retry_own_at = None
                failures_before = self.failures
                await self.deliver_own_pending()
                if self.failures == failures_before:
                    self.failures = 0
                continue
            wake_at = min(next_claim, self.retry_own_at or next_claim)
            until_claim_ms = int((wake_at - loop.time()) * 1000)
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

    async def take_over_dead_consumers(self) -> None:
        """Deliver what gone consumers left pending, then remove them from the group."""
        async with self.taking_over:  # the reads' periodic look and the watcher's, one at once
            await self._take_over_dead_consumers()

    async def _take_over_dead_consumers(self) -> None:
        bus = self.bus
        known_gone = bus.gone_consumers()
        gone = await redis_takeover.dead_consumers(
            self.client, bus.stream, bus.group, bus.consumer, bus.dead_consumer_ms, known_gone
        )
        for name, pending in gone:
            if pending:
                log.warning("event bus: taking over %d entr(y/ies) of %s", pending, name)
            while not self.stop.is_set():
                claimed = await redis_takeover.claim_from(
                    self.client, bus.stream, bus.group, bus.consumer, name, bus.batch_size
                )
                if not claimed:
                    await redis_takeover.forget(self.client, bus.stream, bus.group, name)
                    break
                await self.deliver(claimed, first_delivery=False)
        self.taken_from = known_gone

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
        """Hand the entries to the handler: at once when it takes many (the dispatcher, which
        handles each guild's events in its own lane), else one by one; then settle each on
        its own answer."""
        if self.stop.is_set():
            return  # they stay pending and are delivered again later
        due = await self._due(entries, first_delivery=first_delivery)
        handle_many = getattr(self.handle, "handle_many", None)
        round_ = _Round()
        if handle_many is not None and due:
            try:
                outcomes = list(await handle_many([event for *_, event in due]))
            except Exception as exc:  # the batch as a whole failed (routing it)
                outcomes = [exc] * len(due)
            for entry, outcome in zip(due, outcomes, strict=True):
                await self._settle(entry, outcome, round_)
        else:
            for entry in due:  # one by one, each acknowledged as soon as it is handled
                if self.stop.is_set():
                    break
                try:
                    await self.handle(entry[3])
                except Exception as exc:
                    await self._settle(entry, exc, round_)
                else:
                    await self._settle(entry, None, round_)
        self._after_round(round_)

    async def _settle(
        self,
        entry: tuple[str, dict[str, str], int, Event],
        outcome: BaseException | None,
        round_: _Round,
    ) -> None:
        """Acknowledge a handled entry; park one whose handler was not ready; leave a failed
        one pending (noting whether a store was away, or the handler failed)."""
        entry_id, fields, failures, event = entry
        if outcome is None:
            await acknowledge(self.client, self.bus, entry_id)
        elif isinstance(outcome, NotReady):
            await self._park(entry_id, fields, failures, event, outcome)
        elif is_outage(outcome):
            if not round_.away:
                round_.away = True  # stays pending: delivered again within seconds
                round_.outage = f"{type(outcome).__name__}: {str(outcome)[:300]}"
        else:
            round_.failed = True  # stays pending: delivered again after the backoff
            failures = await self.client.hincrby(self.failures_key, entry_id, 1)
            log.error(
                "handling %s failed (failure %d of %d)",
                event.key,
                failures + carried_failures(fields),
                self.bus.max_deliveries,
                exc_info=outcome,
            )

    async def _due(
        self, entries: Sequence[Entry], *, first_delivery: bool
    ) -> list[tuple[str, dict[str, str], int, Event]]:
        """The entries to hand over, each with the failures it had so far and its event; a
        trimmed one is acknowledged, and one that cannot be decoded or failed too often is
        set aside.

        Only a handler's own failure counts against ``max_deliveries``, kept per entry in
        Redis (:func:`failures_hash`) so that every consumer sees it: a delivery that met an
        outage, or went to a process killed before it answered, was not the event's fault
        (Redis's own delivery count grows with each of those, and with each takeover)."""
        bus = self.bus
        ids = [entry_id for entry_id, _ in entries]
        if not ids:
            return []
        # A first delivery is a new entry: no handler has failed on it yet (one that waited
        # carries its failures in its fields), so the hot path reads nothing more.
        pending: set[str] | None = None
        failed: dict[str, str | None] = {}
        if not first_delivery:
            pending = await self.pending_here(ids)
            failed = dict(zip(ids, await self.client.hmget(self.failures_key, ids), strict=True))
        due = []
        for entry_id, fields in entries:
            if pending is not None and entry_id not in pending:
                continue  # acknowledged or claimed by another consumer meanwhile
            if not fields:
                log.error("event bus: entry %s was trimmed from %s unhandled", entry_id, bus.stream)
                await acknowledge(self.client, bus, entry_id)
                continue
            failures = carried_failures(fields) + int(failed.get(entry_id) or 0)
            try:
                event = event_from_dict(json.loads(fields[FIELD]))
            except (KeyError, TypeError, ValueError) as exc:
                await bury(self.client, bus, entry_id, fields, f"undecodable: {exc}", failures + 1)
                continue
            if failures >= bus.max_deliveries:
                reason = f"{event.key} not acknowledged after {failures} failed deliveries"
                await bury(self.client, bus, entry_id, fields, reason, failures + 1)
                continue
            due.append((entry_id, fields, failures, event))
        return due

    async def _park(
        self, entry_id: str, fields: dict[str, str], failures: int, event: Event, why: NotReady
    ) -> None:
        bus = self.bus
        delay = await park(
            self.client,
            stream=bus.stream,
            group=bus.group,
            entry_id=entry_id,
            fields=fields,
            failures=failures,
            failures_key=self.failures_key,
            now_ms=self.now_ms(),
        )
        log.info("%s waits (%s); next try in %.0f s", event.key, why, delay)

    def _after_round(self, round_: _Round) -> None:
        """When to deliver this consumer's pending entries again: within seconds while a store
        is away, with a backoff growing per round (not per entry) after handler failures."""
        now = asyncio.get_running_loop().time()
        retry_at: float | None = None
        failed, away = round_.failed, round_.away
        if away:
            if self.outage_rounds == 0:
                log.warning(
                    "event bus: handlers cannot reach a store (%s); retrying every few seconds",
                    round_.outage,
                )
            self.outage_rounds += 1
            delay = _OUTAGE_FIRST_SECONDS * 2 ** (self.outage_rounds - 1)
            retry_at = now + min(delay, _OUTAGE_MAX_SECONDS)
        elif self.outage_rounds:
            log.info("event bus: handlers reach their stores again")
            self.outage_rounds = 0
        if failed:
            self.failures += 1
            backoff = now + min(2.0**self.failures, self.bus.claim_idle_ms / 1000)
            retry_at = backoff if retry_at is None else min(retry_at, backoff)
        if retry_at is not None:
            self.retry_own_at = min(self.retry_own_at or retry_at, retry_at)

    async def pending_here(self, entry_ids: Sequence[str]) -> set[str]:
        """Those of the entries still pending with this consumer."""
        bus = self.bus
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(
                    bus.stream, bus.group, entry_id, entry_id, 1, consumername=bus.consumer
                )
            replies = await pipe.execute()
        return {str(info["message_id"]) for reply in replies for info in reply}


def _entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply for our one stream (RESP2 list or RESP3 dict)."""
    if not reply:
        return []
    # RESP3: {stream: [[(id, fields), ...]]}; RESP2: [[stream, [(id, fields), ...]]]
    entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
    return [(str(entry_id), fields) for entry_id, fields in entries]


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
