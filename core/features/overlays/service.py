"""Overlays: each guild's secret URL per kind, its settings, and what an overlay page reads.

A token is 192 random bits (``secrets.token_urlsafe(24)``: 32 URL-safe characters). It is found
by its SHA-256, so no comparison of the secret itself can leak its bytes by timing; it is kept
encrypted only so the dashboard and ``python -m core overlay url`` can show the URL again.
Rotating replaces the row, so the old URL stops working at once (404, like any unknown path),
and wakes the overlay's open streams (its kind is their live topic), which then end;
a first use only adds one where none is, so two first uses at once hand out the same URL.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.live.changes import touch
from core.features.overlays import repository, styles_repository
from core.features.overlays.alert_events import EventAlerts
from core.features.overlays.alert_settings import AlertSettings
from core.features.overlays.alerts import AlertRecorder
from core.features.overlays.goal import GoalService
from core.features.overlays.media import DEFAULT_MAX_BYTES
from core.features.overlays.repository import Alert
from core.features.overlays.settings import (
    KINDS,
    OverlayRefused,
    OverlaySettings,
    check_kind,
    parse_colour,
    parse_seconds,
    read_milestones,
)
from core.features.overlays.views import OverlayViews
from core.security.secrets import TokenCipher

TOKEN_BYTES = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_CATCH_UP = 50  # alerts handed to a reconnecting overlay at once (it asks again for more)


@dataclass(frozen=True)
class OverlayLink:
    guild_id: int
    kind: str
    path: str  # /overlay/<token>
    created_at: datetime


@dataclass(frozen=True)
class Overlay:
    """What a token opens."""

    guild_id: int
    kind: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class OverlayService:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        cipher: TokenCipher,
        public_base_url: str = "",
        media_max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.cipher = cipher
        self.public_base_url = public_base_url.rstrip("/")  # OAUTH_BASE_URL, else this machine
        self.alerts = AlertRecorder(engine, clock)
        self.event_alerts = EventAlerts(engine, clock)  # follows, subs, raids, cheers, KICKs
        self.alert_settings = AlertSettings(engine, clock, media_max_bytes)
        self.goal = GoalService(engine, clock)
        self.views = OverlayViews(engine, clock)

    # --- tokens --------------------------------------------------------------------------

    def link(self, guild_id: int, kind: str, *, rotate: bool = False) -> OverlayLink:
        """The guild's overlay link of ``kind``: made on first use; with ``rotate`` a new one,
        and the old one stops working."""
        check_kind(kind)
        with self.engine.begin() as conn:
            stored = None if rotate else repository.find_token(conn, guild_id, kind)
            if stored is None:
                token = secrets.token_urlsafe(TOKEN_BYTES)
                now = utc(self.clock())
                sealed = self.cipher.encrypt(token)
                if rotate:
                    repository.save_token(conn, guild_id, kind, token_hash(token), sealed, now)
                    touch(conn, guild_id, kind)  # the old URL's open streams end now
                    return OverlayLink(guild_id, kind, f"/overlay/{token}", now)
                # Two first uses at once (two admins on the Overlays page, the page and
                # `!overlay url`): the first stored wins and both hand out its URL.
                stored = repository.keep_first_token(
                    conn, guild_id, kind, token_hash(token), sealed, now
                )
        token = self.cipher.decrypt(stored.token_sealed)
        return OverlayLink(guild_id, kind, f"/overlay/{token}", stored.created_at)

    def url(self, guild_id: int, kind: str, *, rotate: bool = False) -> str:
        """The full URL of :meth:`link`, on the public base URL."""
        return self.public_base_url + self.link(guild_id, kind, rotate=rotate).path

    def links(self, guild_id: int) -> list[OverlayLink]:
        return [self.link(guild_id, kind) for kind in KINDS]

    def open(self, token: str) -> Overlay | None:
        """The overlay a token opens; None for anything else (malformed, unknown, rotated)."""
        if not _TOKEN.match(token):
            return None
        with self.engine.connect() as conn:
            found = repository.find_by_hash(conn, token_hash(token))
        return None if found is None else Overlay(*found)

    # --- settings ------------------------------------------------------------------------

    def settings(self, guild_id: int) -> OverlaySettings:
        with self.engine.connect() as conn:
            return repository.get_settings(conn, guild_id)

    def save_settings(self, guild_id: int, form: Mapping[str, str]) -> OverlaySettings:
        """Save the settings typed in ``form`` (on/off fields: "on", or "off" or absent);
        refuses with :class:`OverlayRefused` (``field`` names the field) and saves nothing
        then."""
        readers: dict[str, Callable[[str], Any]] = {
            "milestones": read_milestones,
            "alert_seconds": parse_seconds,
            "accent_colour": parse_colour,
            "text_colour": parse_colour,
        }
        values: dict[str, Any] = {}
        for name in ("alert_vip", "alert_gifts", "alert_milestones"):
            chosen_word = form.get(name) or "off"
            if chosen_word not in ("on", "off"):
                raise OverlayRefused("Choose on or off.", field=name)
            values[name] = chosen_word == "on"
        for name, read in readers.items():
            try:
                values[name] = read(str(form.get(name, ""))[:200])
            except OverlayRefused as refusal:
                raise OverlayRefused(str(refusal), field=name) from None
        chosen = replace(OverlaySettings(), **values)
        with self.engine.begin() as conn:
            repository.save_settings(conn, guild_id, chosen, utc(self.clock()))
            for kind in KINDS:  # open overlays take up the new look
                touch(conn, guild_id, kind)
        return chosen

    # --- what overlays read --------------------------------------------------------------

    def alerts_after(self, guild_id: int, after: int, limit: int = MAX_CATCH_UP) -> list[Alert]:
        with self.engine.connect() as conn:
            return repository.alerts_after(conn, guild_id, max(after, 0), limit)

    def kinds_off(self, guild_id: int) -> frozenset[str]:
        """The kinds of alert (as recorded: ``vip_granted``, ``follow``, ...) the streamer has
        turned off: the overlay no longer shows those not shown yet."""
        with self.engine.connect() as conn:
            off = styles_repository.kinds_off(conn, guild_id)
        if "vip" in off:
            off |= {"vip_granted", "vip_extended"}
        return frozenset(off)

    def last_alert(self, guild_id: int) -> int:
        with self.engine.connect() as conn:
            return repository.last_alert_seq(conn, guild_id)

    def state(self, overlay: Overlay) -> dict[str, Any]:
        """The heist, raffle or goal overlay's whole state (the alerts overlay has a feed
        instead)."""
        if overlay.kind == "heist":
            return self.views.heist(overlay.guild_id)
        if overlay.kind == "raffle":
            return self.views.raffle(overlay.guild_id)
        if overlay.kind == "goal":
            return self.goal.view(overlay.guild_id)
        return {}

    def send_test_alert(self, guild_id: int) -> int:
        return self.alerts.test_alert(guild_id)
