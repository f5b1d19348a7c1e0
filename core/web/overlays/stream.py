"""An overlay's live stream as a subscription (core/web/dashboard/live.py): what its page hears,
alone at ``/overlay/<token>/events`` or beside others on a browser's shared ``/live`` stream.

Heist, raffle and goal: a ``state`` event with the whole view at once and after every change
(a points goal is read from the points ledger, which the live hub does not hear of, so it is
also looked at again at every heartbeat). Alerts: each alert (with where its token serves its
picture and sound) as an ``alert`` event whose id is its number, so a reconnecting overlay gets
exactly the ones after the last it saw; a fresh one starts at the newest (``ready``) and never
replays the past. It reads the alerts after its last one again at every heartbeat too, so an
alert whose note came before it was readable, or never came, is shown within a heartbeat. The
token is looked up again at every wake-up, and rotating wakes the overlay's streams: once
rotated, the overlay stops at once. Saving the overlay settings wakes them too: when the colours
or how long alerts stay changed, the page is told to ``reload`` (and draws itself anew).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.events import utc
from core.features.overlays.repository import Alert
from core.features.overlays.service import MAX_CATCH_UP, Overlay, OverlayService
from core.web.dashboard.live import Event

TOPIC = {"heist": "heist", "raffle": "raffle", "alerts": "alerts", "goal": "goal"}


def alert_data(alert: Alert, media_path: str) -> dict[str, Any]:
    """The alert as its overlay reads it; ``media_path`` is where its token serves files."""

    def media(media_id: str | None) -> str | None:
        return None if media_id is None else media_path + media_id

    return {
        "seq": alert.seq,
        "kind": alert.kind,
        "title": alert.title,
        "detail": alert.detail,
        "amount": alert.amount,
        "image": media(alert.image_id),
        "sound": media(alert.sound_id),
        "seconds": alert.seconds,
    }


def state_data(service: OverlayService, overlay: Overlay) -> dict[str, Any]:
    return service.state(overlay) | {"now": utc(service.clock()).isoformat()}


class OverlaySubscription:
    """One overlay (found by its token) on a stream."""

    def __init__(
        self,
        service: OverlayService,
        token: str,
        overlay: Overlay,
        last_id: int | None,
        *,
        media_path: str,
    ) -> None:
        """``media_path``: where the token serves the guild's pictures and sounds (read in the
        request: the stream runs outside it)."""
        self.service = service
        self.media_path = media_path
        self._sent: dict[str, Any] = {}  # the last state sent (heist, raffle, goal)
        self.token = token
        self.overlay = overlay
        self.last_id = last_id
        self.key = (overlay.guild_id, TOPIC[overlay.kind])
        self.label = f"o:{token}"
        self._after = 0
        self._look: tuple[object, ...] = ()  # the settings its page was drawn with

    def _page_look(self) -> tuple[object, ...]:
        """What its page was drawn with: the colours, how long alerts stay and (alerts) the
        kinds turned off, whose alerts waiting their turn in the page go with a reload."""
        chosen = self.service.settings(self.overlay.guild_id)
        off = self.service.kinds_off(self.overlay.guild_id) if self.overlay.kind == "alerts" else ()
        return (chosen.accent_colour, chosen.text_colour, chosen.alert_seconds, off)

    def opening(self, seen: int) -> list[Event]:
        self._look = self._page_look()
        if self.overlay.kind != "alerts":
            return self._state()
        newest = self.service.last_alert(self.overlay.guild_id)
        last_id = self.last_id
        self._after = newest if last_id is None or last_id > newest else last_id
        events: list[Event] = []
        if self._after == newest and last_id != newest:  # fresh, or a number never given
            events.append(("ready", {"last": self._after}, self._after))
        return events + self._alerts()

    def changed(self, seq: int) -> list[Event]:
        look = self._page_look()
        if look != self._look:  # the streamer changed the settings: the page draws itself anew
            self._look = look  # (once; an alerts page then asks for what came since)
            return [("reload", {}, None)]
        if self.overlay.kind != "alerts":
            return self._state()
        return self._alerts()

    def idle(self) -> list[Event]:
        """At a heartbeat: alerts its notes did not bring (one read after the last sent), or a
        points goal's new state, if the points moved it."""
        if self.overlay.kind == "alerts":
            return self._alerts()
        goal = self._sent.get("goal")
        if self.overlay.kind != "goal" or not goal or goal.get("measure") != "points":
            return []
        if self.service.state(self.overlay).get("goal") == goal:
            return []
        return self._state()

    def _state(self) -> list[Event]:
        self._sent = state_data(self.service, self.overlay)
        return [("state", self._sent, None)]

    def still_open(self) -> bool:
        return self.service.open(self.token) == self.overlay

    def _alerts(self) -> list[Event]:
        """The alerts after the last sent, but those of a kind turned off (read only when there
        are any: this runs at every heartbeat)."""
        events: list[Event] = []
        off: frozenset[str] | None = None
        for alert in _alerts_after(self.service, self.overlay.guild_id, self._after):
            self._after = alert.seq
            if off is None:
                off = self.service.kinds_off(self.overlay.guild_id)
            if alert.kind in off and not alert.replayed:
                continue
            events.append(("alert", alert_data(alert, self.media_path), alert.seq))
        return events


def _alerts_after(service: OverlayService, guild_id: int, after: int) -> Iterator[Alert]:
    while True:
        batch = service.alerts_after(guild_id, after)
        yield from batch
        if len(batch) < MAX_CATCH_UP:
            return
        after = batch[-1].seq
