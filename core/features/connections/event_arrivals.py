"""When an event of each kind was last handled for each broadcaster, shared by every process.

The dispatcher (in the bot process) notes what it handles, at most one write per (platform,
broadcaster, kind) per minute and process, in a worker thread; the overview and ``!kick
status`` read it, so their "last event" lines are true in a web process that handles no event
(a split deployment), give or take that minute. Like :class:`~core.features.connections.kick.
arrivals.WebhookArrivals` for webhooks, which Pusher's choice of what to publish reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import Platform, utc
from core.features.connections import arrivals_repository as repository
from core.features.connections.arrivals_repository import ArrivalKey

log = logging.getLogger(__name__)
WRITE_EVERY = timedelta(minutes=1)


class EventArrivals:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self._written: dict[ArrivalKey, datetime] = {}
        self._lock = threading.Lock()

    def due(self, seen: Mapping[ArrivalKey, datetime]) -> dict[ArrivalKey, datetime]:
        """Which of ``seen`` to write now: those this process did not write in the last minute
        (taken as written; :meth:`save` gives them back when it cannot). In memory, cheap."""
        now = utc(self.clock())
        due = {}
        with self._lock:
            if len(self._written) > 10_000:
                self._written.clear()
            for key, arrived_at in seen.items():
                last = self._written.get(key)
                if last is None or now - last >= WRITE_EVERY:
                    self._written[key] = now
                    due[key] = arrived_at
        return due

    def save(self, due: Mapping[ArrivalKey, datetime]) -> None:
        """Write what :meth:`due` gave. Never raises: an event is handled whether or not this
        note could be written (the next arrival tries again)."""
        try:
            with self.engine.begin() as conn:
                repository.save_event_arrivals(conn, due)
        except Exception:
            log.exception("could not note when %d kind(s) of event last arrived", len(due))
            with self._lock:
                for key in due:
                    self._written.pop(key, None)

    def last_events(self, platform: Platform, broadcaster_user_id: str) -> dict[str, datetime]:
        """When each kind of event was last handled for the broadcaster, by any process."""
        with self.engine.connect() as conn:
            return repository.list_event_arrivals(conn, platform, broadcaster_user_id)


def newest(*found: Mapping[str, datetime]) -> dict[str, datetime]:
    """Per kind, the newest of these arrivals (this process's own, and every process's)."""
    merged: dict[str, datetime] = {}
    for arrivals in found:
        for kind, at in arrivals.items():
            merged[kind] = max(at, merged.get(kind, at))
    return merged
