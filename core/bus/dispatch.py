"""Route each delivered event to the guilds that track its channel and to its handlers.

A :class:`~core.events.GuildEvent` already names its guild and goes to that guild alone. An event
read from one chatroom (``via_chatroom_id``, Kick's Pusher) goes only to the guilds that chose it.

Handlers are plain service methods ``handler(guild_id, event)``. Synchronous ones (they use the
database) run in a worker thread so the event loop never blocks; coroutine functions are awaited.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core.bus.base import NotReady
from core.events import Event, GuildEvent, Platform
from core.metrics import Metrics

EventHandler = Callable[[int, Any], Any]
# (platform, broadcaster user id, chatroom the event was read from or None) -> guild ids
GuildRouter = Callable[[Platform, str, int | None], list[int]]


class Dispatcher:
    def __init__(
        self,
        handlers: Mapping[type[Event], Sequence[EventHandler]],
        guilds_tracking: GuildRouter,
        metrics: Metrics,
        handled: Callable[[list[int]], object] = lambda guild_ids: None,
    ) -> None:
        """``handled(guild_ids)`` after an event was handled for those guilds (the dashboard's
        live event log hears of it)."""
        self.handlers = handlers
        self.handled = handled
        self.guilds_tracking = guilds_tracking
        self.metrics = metrics
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
        if not isinstance(event, GuildEvent):
            self._note_arrival(event)
        handlers = self.handlers.get(type(event), ())
        if handlers:
            guild_ids = await self._guilds_for(event)
            try:
                for guild_id in guild_ids:
                    for handler in handlers:
                        if inspect.iscoroutinefunction(handler):
                            await handler(guild_id, event)
                        else:
                            await asyncio.to_thread(handler, guild_id, event)
            except NotReady:
                raise  # the bus waits and delivers it again; not a failure
            except Exception:
                self.metrics.events_failed.inc(kind=event.kind)
                raise
            if guild_ids:
                self.handled(guild_ids)
        self.metrics.events_handled.inc(kind=event.kind)

    async def _guilds_for(self, event: Event) -> list[int]:
        if isinstance(event, GuildEvent):
            return [event.guild_id]
        return await asyncio.to_thread(
            self.guilds_tracking,
            event.platform,
            event.broadcaster_user_id,
            event.via_chatroom_id,
        )
