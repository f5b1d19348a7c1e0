"""When Kick webhooks of each type last arrived for each broadcaster, shared by every process.

The web side notes an arrival as the receiver accepts a delivery (at most one write per
broadcaster and type per minute and process); the bot side reads what is arriving once a minute
so that Pusher passes on exactly the event types webhooks are not delivering
(:class:`~core.platforms.kick.sources.WebhookDeliveries`). In a split deployment the web and
bot processes differ, so this lives in the database, not in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.connections.kick import repository
from core.platforms.kick.sources import WebhookDeliveries
from core.platforms.sockets import DELIVERY_WINDOW

log = logging.getLogger(__name__)
WRITE_EVERY = timedelta(minutes=1)


class WebhookArrivals:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self._written: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def record(self, broadcaster_user_id: str, event_type: str) -> None:
        """Note an arrival; skipped when this process noted the same one less than a minute ago.
        Never raises: a webhook is not refused because this note could not be written."""
        now = utc(self.clock())
        key = (broadcaster_user_id, event_type)
        with self._lock:
            last = self._written.get(key)
            if last is not None and now - last < WRITE_EVERY:
                return
            if len(self._written) > 10_000:
                self._written.clear()
            self._written[key] = now
        try:
            with self.engine.begin() as conn:
                repository.save_arrival(conn, broadcaster_user_id, event_type, now)
        except Exception:
            log.exception("could not note a %s webhook's arrival", event_type)
            with self._lock:
                self._written.pop(key, None)

    def arrived_since(
        self, since: datetime, broadcaster_user_id: str | None = None
    ) -> dict[tuple[str, str], datetime]:
        """The last arrival of each (broadcaster, event type) after ``since``: of every
        broadcaster, or of ``broadcaster_user_id`` alone (one server's channel)."""
        with self.engine.connect() as conn:
            return repository.list_arrivals_since(conn, since, broadcaster_user_id)

    def deliveries(self) -> WebhookDeliveries:
        """What webhooks are delivering now: recent arrivals and the stored subscriptions."""
        since = utc(self.clock()) - DELIVERY_WINDOW
        with self.engine.connect() as conn:
            arrived = repository.list_arrivals_since(conn, since)
            subscribed = frozenset(repository.list_subscribed_types(conn))
        return WebhookDeliveries(arrived, subscribed)
