"""An overlay whose link was rotated while its live connection was down (the server restarting,
the streaming PC's network gone for a moment) says so once it is back, in chromium: the
rotation's wake-up never reached it, and the live stream does not follow an unknown link."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect

from core.events import utc
from core.features.overlays import repository
from core.features.overlays.service import token_hash

GUILD = 111111111111111111


def _rotate_unheard(site) -> None:  # type: ignore[no-untyped-def]
    """A new goal link stored as rotating stores it, with no open stream woken: as when the
    rotation happened while the overlay's connection was down."""
    overlays = site.runtime.overlays
    token = secrets.token_urlsafe(24)
    with site.runtime.engine.begin() as conn:
        repository.save_token(
            conn, GUILD, "goal", token_hash(token), overlays.cipher.encrypt(token),
            utc(site.runtime.clock()),
        )  # fmt: skip


def _drop_live_connections(site) -> None:  # type: ignore[no-untyped-def]
    """Every open live stream ends, as when the server restarts (the browser reconnects)."""
    hub = site.app.extensions["live"]
    with hub._cond:
        hub.admissions.end_all()
        hub._cond.notify_all()


def test_a_link_rotated_while_the_connection_was_down_shows_the_note(page, site):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    site.runtime.overlays.goal.save(GUILD, {"measure": "follows", "target": "50", "title": "Goal"})
    page.goto(site.runtime.overlays.url(GUILD, "goal"))
    expect(page.locator("#goal")).to_be_visible(timeout=15_000)
    _rotate_unheard(site)
    _drop_live_connections(site)
    expect(page.locator(".missing-note")).to_be_visible(timeout=20_000)
    expect(page.locator("#goal")).to_have_count(0)
