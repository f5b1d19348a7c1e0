"""The embedded bus: events kept in the database until a handler has taken them.

The default when no ``REDIS_URL`` is set. A crash between publish and acknowledgement loses
nothing: unacknowledged rows are delivered again when the consumer starts. Because the queue is
a table, a separate ``web`` process and ``bot`` process sharing one database also work.
Delivered events are deleted 7 days after delivery, dead ones (set aside after repeated
failures, shown in the dashboard's event log for a retry) :data:`DEAD_RETENTION` after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.bus.base import (
    DEAD_RETENTION,
    BusUnavailable,
    EventRefused,
    Handler,
    NotReady,
    decoded_events,
    is_event_fault,
    not_ready_delay,
    stamped_before,
)
from core.bus.group_commit import GroupCommitter, WriterClosed
from core.events import Event, event_from_dict, event_to_dict, utc
from core.storage.driver_statement import DriverStatement
from core.storage.tables import bus_events, webhook_receipts

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_RETRY_FIRST_SECONDS = 0.1
_RETRY_MAX_SECONDS = 30.0
# How long a woken consumer lets events gather before it fetches them: a round (fetch, handle,
# acknowledge) costs about 4 ms of CPU whatever its size, and the web side wakes the consumer at
# every commit. With 8 webhook senders it made about 80 rounds for 4,300 events instead of 230
# (measured with `python -m benchmarks.dispatcher`).
GATHER_SECONDS = 0.05


def _typed_insert(table: sa.Table, columns: tuple[str, ...], key: str) -> DriverStatement:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING key`` as text (SQLite and PostgreSQL).

    The dialects' ``insert().on_conflict_do_nothing()`` cannot be cached by SQLAlchemy 2.0.58
    and was compiled again on every webhook (a third of its time); a text statement is compiled
    once, and runs on the driver's cursor (:class:`DriverStatement`: ``conn.execute`` itself
    cost about 0.15 ms per statement, several times what SQLite took to run it). The bind
    parameters carry the columns' types, so values are stored as before.
    """
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({values}) ON CONFLICT DO NOTHING"  # noqa: S608
    statement = sa.text(f"{sql} RETURNING {key}")
    return DriverStatement(
        statement.bindparams(*(sa.bindparam(name, type_=table.c[name].type) for name in columns))
    )


_ADD_EVENT = _typed_insert(bus_events, ("event_key", "payload", "published_at"), "id")
_ADD_RECEIPT = _typed_insert(webhook_receipts, ("message_id", "received_at"), "message_id")
_FORGET_RECEIPT = sa.text("DELETE FROM webhook_receipts WHERE message_id = :message_id")


def _insert(conn: Connection, statement: DriverStatement, values: dict[str, object]) -> bool:
    """True when the row was inserted, False when its key was there already."""
    return statement.first(conn, values) is not None


def _now() -> datetime:
    return datetime.now().astimezone()


class EmbeddedBus:
    name = "embedded"

    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        max_attempts: int = 5,
        retention: timedelta = timedelta(days=7),
        dead_retention: timedelta = DEAD_RETENTION,
        clock: Clock = _now,
        gather_seconds: float = GATHER_SECONDS,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self.max_attempts = max_attempts
        self.retention = retention
        self.dead_retention = dead_retention
        self.clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._writer = GroupCommitter(engine, after_commit=self._wake, name="event-writer")
        # Not-ready answers in a row, by row id, for the backoff only. Kept in memory: after a
        # restart an event waits 5 s again, which is what a fresh start wants.
        self._waits: dict[int, int] = {}

    def publish(self, event: Event) -> bool:
        row = self._row(event)
        with _storing(event):
            return bool(self._writer.submit(lambda conn: _insert(conn, _ADD_EVENT, row)))

    def publish_delivery(self, event: Event, message_id: str) -> bool:
        """Queue a webhook's event and remember its message id, in one transaction.

        False (and nothing written) when the event or a delivery with this message id was
        queued before. A failure, or a crash half way, remembers nothing, so the sender's
        retry is accepted. The message id is kept as a ``webhook_receipts`` row (pruned by
        :class:`~core.bus.replay.DatabaseReplayGuard` after a day).

        Concurrent calls are group-committed (:class:`~core.bus.group_commit.GroupCommitter`):
        this returns once the transaction holding the delivery has committed.
        """
        row = self._row(event)
        receipt = {"message_id": message_id[:128], "received_at": row["published_at"]}

        def write(conn: Connection) -> bool:
            if not _insert(conn, _ADD_RECEIPT, receipt):
                return False  # this message id was delivered before
            if not _insert(conn, _ADD_EVENT, row):
                # The event was queued before under another message id: remember nothing.
                conn.execute(_FORGET_RECEIPT, {"message_id": receipt["message_id"]})
                return False
            return True

        with _storing(event):
            return bool(self._writer.submit(write))

    def _row(self, event: Event) -> dict[str, object]:
        return {
            "event_key": event.key,
            "payload": json.dumps(event_to_dict(event), separators=(",", ":")),
            "published_at": utc(self.clock()),
        }

    def _wake(self) -> None:
        loop, wakeup = self._loop, self._wakeup
        # Already set: the consumer has not fetched since, and its next fetch comes after this
        # commit, so it sees these rows; waking its loop again would only cost a thread switch.
        if loop is not None and wakeup is not None and not wakeup.is_set() and not loop.is_closed():
            loop.call_soon_threadsafe(wakeup.set)

    async def run(self, handle: Handler, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        retry_in: float | None = None  # set while the database fails
        while not stop.is_set():
            self._wakeup.clear()
            try:
                delivered = await self.deliver_due(handle)
            except sa.exc.SQLAlchemyError as exc:
                # Unacknowledged events stay queued; keep the loop alive and try again.
                if retry_in is None:
                    log.warning(
                        "event bus: the database failed (%s: %.200s); retrying until it answers",
                        type(exc).__name__,
                        getattr(exc, "orig", None) or "",
                    )
                    retry_in = _RETRY_FIRST_SECONDS
                else:
                    retry_in = min(retry_in * 2, _RETRY_MAX_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=retry_in)
                continue
            if retry_in is not None:
                retry_in = None
                log.info("event bus: the database answers again")
            if delivered < self.batch_size:
                await _wait_any(self._wakeup, stop, seconds=self.poll_seconds)
                # Let the events of the next few commits join this one's round (a full round
                # goes on at once: there is a backlog to work through).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.gather_seconds)

    async def deliver_due(self, handle: Handler) -> int:
        """Hand every due event (up to a batch) to ``handle``; return how many were tried.

        A handler with ``handle_many`` (the :class:`~core.bus.dispatch.Dispatcher`) gets the
        whole batch at once and answers per event; each event is then acknowledged, waits or
        is tried again on its own answer, as when they are handed over one by one.
        """
        rows = await asyncio.to_thread(self._fetch_due)
        decoded: list[tuple[int, int, Event]] = []
        for row_id, payload, attempts in rows:
            try:
                decoded.append((row_id, attempts, event_from_dict(json.loads(payload))))
            except ValueError as exc:
                await asyncio.to_thread(self._bury, row_id, f"undecodable: {exc}")
        handle_many = getattr(handle, "handle_many", None)
        acked: list[int] = []
        try:
            if handle_many is not None and decoded:
                events = [event for _, _, event in decoded]
                try:
                    outcomes = await handle_many(events)
                except Exception as exc:  # the batch as a whole failed (routing it)
                    outcomes = [exc] * len(events)
                for (row_id, attempts, event), outcome in zip(decoded, outcomes, strict=True):
                    if await self._settle(row_id, attempts, event, outcome):
                        acked.append(row_id)
                return len(rows)
            for row_id, attempts, event in decoded:
                try:
                    await handle(event)
                except Exception as exc:
                    await self._settle(row_id, attempts, event, exc)
                else:
                    acked.append(row_id)
        finally:
            if acked:
                await asyncio.to_thread(self._ack, acked)
                for row_id in acked:
                    self._waits.pop(row_id, None)
        return len(rows)

    async def _settle(
        self, row_id: int, attempts: int, event: Event, outcome: BaseException | None
    ) -> bool:
        """True when the event is done; otherwise it waits or is tried again later."""
        if outcome is None:
            return True
        if isinstance(outcome, NotReady):
            await asyncio.to_thread(self._wait, row_id, event.key, outcome)
            return False
        self._waits.pop(row_id, None)
        log.error("handling %s failed (attempt %d)", event.key, attempts + 1, exc_info=outcome)
        await asyncio.to_thread(self._retry_later, row_id, attempts + 1, repr(outcome))
        return False

    def _fetch_due(self) -> list[tuple[int, str, int]]:
        now = utc(self.clock())
        query = (
            sa.select(bus_events.c.id, bus_events.c.payload, bus_events.c.attempts)
            .where(
                bus_events.c.acked_at.is_(None),
                bus_events.c.dead_at.is_(None),
                sa.or_(bus_events.c.next_attempt_at.is_(None), bus_events.c.next_attempt_at <= now),
            )
            .order_by(bus_events.c.id)
            .limit(self.batch_size)
        )
        with self.engine.connect() as conn:
            return [(row.id, row.payload, row.attempts) for row in conn.execute(query)]

    def _ack(self, row_ids: list[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(bus_events)
                .where(bus_events.c.id.in_(row_ids))
                .values(acked_at=utc(self.clock()))
            )

    def _retry_later(self, row_id: int, attempts: int, error: str) -> None:
        if attempts >= self.max_attempts:
            self._bury(row_id, error, attempts=attempts)
            return
        delay = timedelta(seconds=min(2**attempts, 300))
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(bus_events)
                .where(bus_events.c.id == row_id)
                .values(
                    attempts=attempts,
                    next_attempt_at=utc(self.clock()) + delay,
                    last_error=error[:2000],
                )
            )

    def _wait(self, row_id: int, key: str, reason: NotReady) -> None:
        """Deliver the row again after the not-ready backoff; its attempts stay as they were."""
        waits = self._waits[row_id] = self._waits.get(row_id, 0) + 1
        delay = not_ready_delay(waits)
        log.info("%s waits (%s); next try in %.0f s", key, reason, delay)
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(bus_events)
                .where(bus_events.c.id == row_id)
                .values(
                    next_attempt_at=utc(self.clock()) + timedelta(seconds=delay),
                    last_error=f"waiting: {reason}"[:2000],
                )
            )

    def _bury(self, row_id: int, error: str, *, attempts: int | None = None) -> None:
        self._waits.pop(row_id, None)
        log.error("event %d set aside after repeated failures: %s", row_id, error)
        values: dict[str, object] = {"dead_at": utc(self.clock()), "last_error": error[:2000]}
        if attempts is not None:
            values["attempts"] = attempts
        with self.engine.begin() as conn:
            conn.execute(sa.update(bus_events).where(bus_events.c.id == row_id).values(values))

    def backlog(self) -> int:
        query = sa.select(sa.func.count()).where(
            bus_events.c.acked_at.is_(None), bus_events.c.dead_at.is_(None)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def oldest_unhandled(self) -> datetime | None:
        """When the oldest event not yet acknowledged (nor set aside) was queued; None if none."""
        query = sa.select(sa.func.min(bus_events.c.published_at)).where(
            bus_events.c.acked_at.is_(None), bus_events.c.dead_at.is_(None)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def unhandled_before(self, before: datetime, limit: int) -> list[Event] | None:
        e = bus_events.c
        query = (
            sa.select(e.payload)
            .where(e.acked_at.is_(None), e.dead_at.is_(None))
            .order_by(e.id)
            .limit(limit + 1)
        )
        with self.engine.connect() as conn:
            payloads = list(conn.execute(query).scalars())
        if len(payloads) > limit:
            return None
        return stamped_before(decoded_events(payloads), before)

    def prune(self) -> int:
        """Forget events acknowledged longer ago than the retention period, and events dead
        for longer than the dead retention; return how many."""
        now, e = utc(self.clock()), bus_events.c
        delivered = sa.and_(e.acked_at.is_not(None), e.acked_at < now - self.retention)
        # A dead event is never acknowledged (a retry clears dead_at): by the same index.
        dead = sa.and_(e.acked_at.is_(None), e.dead_at < now - self.dead_retention)
        with self.engine.begin() as conn:
            gone = conn.execute(sa.delete(bus_events).where(delivered)).rowcount
            gone += conn.execute(sa.delete(bus_events).where(dead)).rowcount
        return gone

    def ping(self) -> None:
        try:
            self.backlog()
        except sa.exc.SQLAlchemyError as exc:
            raise BusUnavailable("the event queue in the database is unavailable") from exc

    def close(self) -> None:
        self._writer.close()
        self._loop = None


async def _wait_any(first: asyncio.Event, second: asyncio.Event, *, seconds: float) -> None:
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@contextlib.contextmanager
def _storing(event: Event) -> Iterator[None]:
    """Storage errors as the bus's two refusals: the event's fault (:class:`EventRefused`: it can
    never be stored) or the database's (:class:`BusUnavailable`: worth a retry)."""
    try:
        yield
    except WriterClosed as exc:
        raise BusUnavailable("the event queue is closing") from exc
    except (sa.exc.SQLAlchemyError, UnicodeError, ValueError) as exc:
        if is_event_fault(exc):
            raise EventRefused(f"the database refuses {event.kind} events like this one") from exc
        raise BusUnavailable("the event queue in the database is unavailable") from exc
