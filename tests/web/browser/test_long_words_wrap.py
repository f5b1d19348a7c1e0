"""A note the dashboard flashes names what the streamer typed elsewhere (the VIP rewards a
disconnect paused, by title), and a Twitch reward title is up to 45 letters without a space.
Such a word breaks inside the note rather than widen a 360 px phone's page."""

from __future__ import annotations

from tests.web.browser.test_settings_pages import GUILD, _log_in

TITLE = "VIPforadayVIPforadayVIPforadayVIPforadayVIP45"  # Twitch's longest title
NOTE = (
    "Twitch disconnected. VIP rewards paused on Twitch until the streamer connects Twitch "
    f"here again: '{TITLE}', 'VIP for a week'."
)


def _flash(page, site, note: str) -> None:  # type: ignore[no-untyped-def]
    """Add ``note`` to the browser's session as Flask's ``flash`` does (the signed cookie)."""
    app = site.app
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = next(
        c for c in page.context.cookies() if c["name"] == app.config["SESSION_COOKIE_NAME"]
    )
    session = serializer.loads(cookie["value"])
    session["_flashes"] = [("message", note)]
    page.context.add_cookies([{**cookie, "value": serializer.dumps(session)}])


def test_a_flashed_note_with_a_long_reward_title_fits_a_phone(page, site, discord, shot):
    _log_in(page, site, discord)
    page.set_viewport_size({"width": 360, "height": 800})
    _flash(page, site, NOTE)
    page.goto(f"{site.url}/dashboard/{GUILD}/connections/")
    assert TITLE in page.locator("p.done").inner_text()
    shot(page, "connections-long-note-phone")
    sideways = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert sideways == 0, f"the page scrolls {sideways} px sideways at 360 px"
