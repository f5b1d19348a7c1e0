"""Route each delivered event to the guilds that track its channel and to its handlers.

A :class:`~core.events.GuildEvent` already names its guild and goes to that guild alone. An event
read from one chatroom (``via_chatroom_id``, Kick's Pusher) goes only to the guilds that chose it.

Handlers are plain service methods ``handler(guild_id, event)``. Synchronous ones (they use the
database) run in a worker thread so the event loop never blocks; coroutine functions are awaited.

Lanes: the guild is the lane key. Many events at once (:meth:`Dispatcher.handle_many`, what the
buses hand over) are split by guild; each guild's events are handled in order, and different
guilds' at the same time (at most ``lanes`` at once), so a guild whose handler waits on a slow
partner holds only its own events. In a lane, a run of consecutive events of one type goes
through each handler in turn, the handler's work for the run in one worker-thread call. A
handler marked :func:`handles_many` does it in fewer transactions: its service's batch method
takes one guild's events of the run, up to :data:`MANY_LIMIT` at a time. If that batch fails,
nothing of it was written (one transaction) and the events go through the one-event handler one
by one, so a failing event fails alone. A handler whose guilds do not depend on one another
(presence, chat earning) may also be marked :func:`handles_across_guilds`: its service's method
then takes the batch's ``(guild_id, event)`` pairs of every guild at once (each guild's events
in their order), before the lanes run, one transaction per :data:`ACROSS_LIMIT` pairs; a
channel that many guilds follow costs one transaction per batch, not one per guild. If that
fails, the lanes do the handler's work guild by guild as above. An event that failed in one
handler is not
given to the next (as when it is handled alone); it is delivered again later and its handlers run
again, so every handler must be idempotent per event (docs/architecture.md, "Exactly-once").

A guild the bot was removed from (``left_guilds``, read with the routing, cached a few seconds)
gets nothing: the event is done for it (not delivered again), counted in
``streamkeeper_events_left_server_total`` and logged once per guild, and again when its stream
starts. The other guilds of the same event are served as ever.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from core.bus.base import NotReady
from core.events import Event, GuildEvent, Platform, StreamStarted
from core.metrics import Metrics

EventHandler = Callable[[int, Any], Any]
# (platform, broadcaster user id, chatroom the event was read from or None) -> guild ids
GuildRouter = Callable[[Platform, str, int | None], list[int]]
Outcome = BaseException | None  # per event: None when every handler took it

# At most this many events per batch transaction: on SQLite every other writer (the web side
# storing webhooks) waits for the transaction, so it stays short (tens of milliseconds).
MANY_LIMIT = 25
LANES = 8  # guilds handled at the same time
ACROSS_LIMIT = 500  # (guild, event) pairs per transaction of a handler across guilds

_F = TypeVar("_F", bound=Callable[..., Any])
_MANY = "__handles_many__"
_ACROSS = "__handles_across_guilds__"
log = logging.getLogger(__name__)


def handles_many(method_name: str) -> Callable[[_F], _F]:
    """Mark a synchronous handler method whose object also has ``method_name(guild_id, events)``:
    the same work for many events of one guild, in order, in one transaction (all or nothing)."""

    def mark(handler: _F) -> _F:
        setattr(handler, _MANY, method_name)
        return handler

    return mark


def handles_across_guilds(method_name: str) -> Callable[[_F], _F]:
    """Mark a synchronous handler method whose object also has ``method_name(pairs)``: the same
    work for ``(guild_id, event)`` pairs of many guilds (each guild's in order), in one
    transaction (all or nothing); no guild's outcome depends on another's."""

    def mark(handler: _F) -> _F:
        setattr(handler, _ACROSS, method_name)
        return handler

    return mark


def _many_form(handler: EventHandler) -> Callable[[int, list[Any]], Any] | None:
    return _marked_form(handler, _MANY)


def _across_form(handler: EventHandler) -> Callable[[list[tuple[int, Any]]], Any] | None:
    return _marked_form(handler, _ACROSS)


def _marked_form(handler: EventHandler, mark: str) -> Any:
    name = getattr(handler, mark, None)
    owner = getattr(handler, "__self__", None)
    return None if name is None or owner is None else getattr(owner, name)


def _each(handler: EventHandler, items: list[tuple[int, int, Event]]) -> list[tuple[int, Outcome]]:
    """Run a synchronous handler for each ``(index, guild_id, event)``; what each raised."""
    failed: list[tuple[int, Outcome]] = []
    for index, guild_id, event in items:
        try:
            handler(guild_id, event)
        except Exception as exc:
            failed.append((index, exc))
    return failed


class ArrivalStore(Protocol):
    """Where the last arrival of each (platform, broadcaster, kind) is kept for every process
    (:class:`core.features.connections.event_arrivals.EventArrivals`)."""

    def due(
        self, seen: Mapping[tuple[str, str, str], datetime]
    ) -> dict[tuple[str, str, str], datetime]: ...

    def save(self, due: Mapping[tuple[str, str, str], datetime]) -> None: ...


class Dispatcher:
    def __init__(
        self,
        handlers: Mapping[type[Event], Sequence[EventHandler]],
        guilds_tracking: GuildRouter,
        metrics: Metrics,
        handled: Callable[[list[int]], object] = lambda guild_ids: None,
        *,
        lanes: int = LANES,
        left_guilds: Callable[[], Collection[int]] = frozenset,
        arrivals: ArrivalStore | None = None,
    ) -> None:
        """``handled(guild_ids)`` after an event was handled for those guilds (the dashboard's
        live event log hears of it); ``left_guilds()`` the guilds the bot was removed from
        (synchronous, cheap: ``GuildService.left_guild_ids``); ``arrivals`` keeps the last
        arrivals where a process that dispatches nothing reads them (a split deployment's web)."""
        self.arrivals = arrivals
        self.handlers = handlers
        self.handled = handled
        self.guilds_tracking = guilds_tracking
        self.left_guilds = left_guilds
        self._told_left: set[int] = set()
        self.metrics = metrics
        self.lanes = max(1, lanes)
        self._last_seen: dict[str, dict[str, datetime]] = {}

    def last_events(self, broadcaster_user_id: str) -> dict[str, datetime]:
        """When each kind of event last arrived for this broadcaster, since the process started."""
        return dict(self._last_seen.get(broadcaster_user_id, {}))

    def _note_arrival(self, event: Event) -> None:
        seen = self._last_seen.get(event.broadcaster_user_id)
        if seen is None:
            if len(self._last_seen) >= 10_000:  # bounded: one entry per followed channel
                return
            seen = self._last_seen[event.broadcaster_user_id] = {}
        seen[event.kind] = max(event.occurred_at, seen.get(event.kind, event.occurred_at))

    async def __call__(self, event: Event) -> None:
        """Handle one event; raise what a handler raised (:class:`NotReady` included)."""
        (outcome,) = await self.handle_many([event])
        if outcome is not None:
            raise outcome

    async def handle_many(self, events: Sequence[Event]) -> list[Outcome]:
        """Handle ``events`` in order; per event None, or what one of its handlers raised (that
        event is then to be delivered again; the others are done)."""
        outcomes: list[Outcome] = [None] * len(events)
        arrived: dict[tuple[str, str, str], datetime] = {}
        for event in events:
            if not isinstance(event, GuildEvent):
                self._note_arrival(event)
                key = (str(event.platform), event.broadcaster_user_id, event.kind)
                arrived[key] = max(event.occurred_at, arrived.get(key, event.occurred_at))
        routes = await self._guilds_for_all(events)
        by_guild: dict[int, list[int]] = {}
        for index, guild_ids in enumerate(routes):
            for guild_id in guild_ids:
                by_guild.setdefault(guild_id, []).append(index)
        done = await self._run_across_guilds(events, routes)
        room = asyncio.Semaphore(self.lanes)

        async def lane(guild_id: int, indexes: list[int]) -> None:
            async with room:
                await self._run_lane(guild_id, indexes, events, outcomes, done)

        await asyncio.gather(*(lane(guild_id, mine) for guild_id, mine in by_guild.items()))
        touched: set[int] = set()
        for event, outcome, guild_ids in zip(events, outcomes, routes, strict=True):
            if outcome is None:
                self.metrics.events_handled.inc(kind=event.kind)
                if self.handlers.get(type(event)):
                    touched.update(guild_ids)
            elif not isinstance(outcome, NotReady):  # the bus waits for it; not a failure
                self.metrics.events_failed.inc(kind=event.kind)
        if touched:
            self.handled(sorted(touched))
        await self._keep_arrivals(arrived)
        return outcomes

    async def _keep_arrivals(self, arrived: dict[tuple[str, str, str], datetime]) -> None:
        """Write the arrivals not written lately (at most one write per key and minute), off
        the loop."""
        due = self.arrivals.due(arrived) if self.arrivals is not None and arrived else {}
        if due and self.arrivals is not None:
            await asyncio.to_thread(self.arrivals.save, due)

    async def _run_across_guilds(
        self, events: Sequence[Event], routes: list[list[int]]
    ) -> set[EventHandler]:
        """Run each handler marked :func:`handles_across_guilds` once for the whole batch; the
        handlers whose work is done (the lanes skip them)."""
        done: set[EventHandler] = set()
        for kind in dict.fromkeys(type(event) for event in events):
            for handler in self.handlers.get(kind, ()):
                across = _across_form(handler)
                if across is None:
                    continue
                pairs = [
                    (guild_id, event)
                    for event, guild_ids in zip(events, routes, strict=True)
                    if type(event) is kind
                    for guild_id in guild_ids
                ]
                try:
                    for start in range(0, len(pairs), ACROSS_LIMIT):
                        await asyncio.to_thread(across, pairs[start : start + ACROSS_LIMIT])
                except Exception as exc:
                    log.info("%s for many guilds failed (%s); guild by guild", kind.__name__, exc)
                    continue
                done.add(handler)
        return done

    async def _run_lane(
        self,
        guild_id: int,
        indexes: list[int],
        events: Sequence[Event],
        outcomes: list[Outcome],
        done: set[EventHandler],
    ) -> None:
        """One guild's events, in order: each run of one type through each of its handlers
        (but those ``done`` for every guild at once)."""
        start = 0
        while start < len(indexes):
            end = start + 1
            kind = type(events[indexes[start]])
            while end < len(indexes) and type(events[indexes[end]]) is kind:
                end += 1
            for handler in self.handlers.get(kind, ()):
                if handler in done:
                    continue
                items = [
                    (index, guild_id, events[index])
                    for index in indexes[start:end]
                    if outcomes[index] is None
                ]
                for index, exc in await self._run(handler, items):
                    if outcomes[index] is None:
                        outcomes[index] = exc
            start = end

    async def _run(
        self, handler: EventHandler, items: list[tuple[int, int, Event]]
    ) -> list[tuple[int, Outcome]]:
        if not items:
            return []
        if inspect.iscoroutinefunction(handler):
            failed: list[tuple[int, Outcome]] = []
            for index, guild_id, event in items:
                try:
                    await handler(guild_id, event)
                except Exception as exc:
                    failed.append((index, exc))
            return failed
        many = _many_form(handler) if len(items) > 1 else None
        if many is None:
            return await asyncio.to_thread(_each, handler, items)
        return await asyncio.to_thread(_in_batches, handler, many, items)

    async def _guilds_for_all(self, events: Sequence[Event]) -> list[list[int]]:
        """The guilds each event is for, but those the bot was removed from; one worker-thread
        call for all that need routing."""
        keys = {
            (event.platform, event.broadcaster_user_id, event.via_chatroom_id)
            for event in events
            if not isinstance(event, GuildEvent) and self.handlers.get(type(event))
        }
        if not any(self.handlers.get(type(event)) for event in events):
            return [[event.guild_id] if isinstance(event, GuildEvent) else [] for event in events]
        found, left = await asyncio.to_thread(
            lambda: ({key: self.guilds_tracking(*key) for key in keys}, self.left_guilds())
        )
        routes = [
            [event.guild_id]
            if isinstance(event, GuildEvent)
            else found.get((event.platform, event.broadcaster_user_id, event.via_chatroom_id), [])
            for event in events
        ]
        return self._without_left(events, routes, left)

    def _without_left(
        self, events: Sequence[Event], routes: list[list[int]], left: Collection[int]
    ) -> list[list[int]]:
        self._told_left.intersection_update(left)  # back in the server: told again if removed
        if not left:
            return routes
        kept: list[list[int]] = []
        for event, guild_ids in zip(events, routes, strict=True):
            for guild_id in guild_ids:
                if guild_id not in left or not self.handlers.get(type(event)):
                    continue
                self.metrics.events_dropped.inc(kind=event.kind)
                if guild_id not in self._told_left or isinstance(event, StreamStarted):
                    self._told_left.add(guild_id)
                    log.info(
                        "server %s removed the bot: its events (%s first) are not acted on "
                        "until the bot is invited again",
                        guild_id,
                        event.kind,
                    )
            kept.append([guild_id for guild_id in guild_ids if guild_id not in left])
        return kept


def _in_batches(
    handler: EventHandler,
    many: Callable[[int, list[Any]], Any],
    items: list[tuple[int, int, Event]],
) -> list[tuple[int, Outcome]]:
    """Each guild's events through the batch form; a batch that fails (it wrote nothing) goes
    through the one-event handler event by event, so only the events that fail are refused."""
    by_guild: dict[int, list[tuple[int, int, Event]]] = {}
    for item in items:
        by_guild.setdefault(item[1], []).append(item)
    failed: list[tuple[int, Outcome]] = []
    for guild_id, mine in by_guild.items():
        for start in range(0, len(mine), MANY_LIMIT):
            chunk = mine[start : start + MANY_LIMIT]
            try:
                many(guild_id, [event for _, _, event in chunk])
            except Exception:
                failed.extend(_each(handler, chunk))
    return failed
