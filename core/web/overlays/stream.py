"""An overlay's live stream as a subscription (core/web/dashboard/live.py): what its page hears,
alone at ``/overlay/<token>/events`` or beside others on a browser's shared ``/live`` stream.

Heist and raffle: a ``state`` event with the whole view at once and after every change.
Alerts: each alert as an ``alert`` event whose id is its number, so a reconnecting overlay gets
exactly the ones after the last it saw; a fresh one starts at the newest (``ready``) and never
replays the past. The token is looked up again at every wake-up: once rotated, the overlay stops
(within a heartbeat).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.events import utc
from core.features.overlays.repository import Alert
from core.features.overlays.service import MAX_CATCH_UP, Overlay, OverlayService
from core.web.dashboard.live import Event

TOPIC = {"heist": "heist", "raffle": "raffle", "alerts": "alerts"}


def alert_data(alert: Alert) -> dict[str, Any]:
    return {"seq": alert.seq, "kind": alert.kind, "title": alert.title, "detail": alert.detail}


def state_data(service: OverlayService, overlay: Overlay) -> dict[str, Any]:
    return service.state(overlay) | {"now": utc(service.clock()).isoformat()}


class OverlaySubscription:
    """One overlay (found by its token) on a stream."""

    def __init__(
        self, service: OverlayService, token: str, overlay: Overlay, last_id: int | None
    ) -> None:
        self.service = service
        self.token = token
        self.overlay = overlay
        self.last_id = last_id
        self.key = (overlay.guild_id, TOPIC[overlay.kind])
        self.label = f"o:{token}"
        self._after = 0

    def opening(self, seen: int) -> list[Event]:
        if self.overlay.kind != "alerts":
            return [("state", state_data(self.service, self.overlay), None)]
        newest = self.service.last_alert(self.overlay.guild_id)
        last_id = self.last_id
        self._after = newest if last_id is None or last_id > newest else last_id
        events: list[Event] = []
        if self._after == newest and last_id != newest:  # fresh, or a number never given
            events.append(("ready", {"last": self._after}, self._after))
        return events + self._alerts()

    def changed(self, seq: int) -> list[Event]:
        if self.overlay.kind != "alerts":
            return [("state", state_data(self.service, self.overlay), None)]
        return self._alerts()

    def still_open(self) -> bool:
        return self.service.open(self.token) == self.overlay

    def _alerts(self) -> list[Event]:
        events: list[Event] = []
        for alert in _alerts_after(self.service, self.overlay.guild_id, self._after):
            self._after = alert.seq
            events.append(("alert", alert_data(alert), alert.seq))
        return events


def _alerts_after(service: OverlayService, guild_id: int, after: int) -> Iterator[Alert]:
    while True:
        batch = service.alerts_after(guild_id, after)
        yield from batch
        if len(batch) < MAX_CATCH_UP:
            return
        after = batch[-1].seq
