"""The setup page in chromium: a browser behind a proxy (it sends X-Forwarded-For) brings the
one-time token from the log, is let in, and reads each check's state; a second browser with
the same link gets nothing. The checks ask fakes on 127.0.0.1 (Discord, Kick; Twitch is left
unset). With SCREENSHOT_DIR set it writes docs/setup.png and docs/setup-360.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from core.discord_bot.permissions import bot_permissions
from tests.fakes import kick_server
from tests.fakes.discord_oauth import BOT_NAME, BOT_TOKEN, CLIENT_ID
from tests.fakes.kick_server import FakeKick

FORWARDED = {"X-Forwarded-For": "198.51.100.4"}  # as a reverse proxy would add it


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick() as fake:
        yield fake


@pytest.fixture
def site_settings(kick) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": BOT_TOKEN,
        "KICK_CLIENT_ID": kick_server.CLIENT_ID,
        "KICK_CLIENT_SECRET": kick_server.CLIENT_SECRET,
        "KICK_OAUTH_BASE_URL": kick.url,
    }


def _states(page: Page) -> dict[str, str]:
    items = page.locator(".setup-item")
    return {
        items.nth(i).locator(".setup-title").inner_text(): items.nth(i).get_attribute("data-state")
        or ""
        for i in range(items.count())
    }


def test_the_token_from_the_log_opens_the_setup_page_in_one_browser(page, site, browser, shot):
    page.context.set_extra_http_headers(FORWARDED)
    assert page.goto(site.url + "/setup").status == 404  # forwarded, no token
    token = site.app.extensions["setup"].token.value
    response = page.goto(f"{site.url}/setup?token={token}")
    assert response is not None
    assert response.status == 200
    assert page.url == site.url + "/setup"  # the token left the address bar
    assert page.locator("h1").inner_text() == "Set up StreamKeeper"
    states = _states(page)
    assert states["Discord bot token"] == "ok"
    assert states["Discord client id"] == "ok"
    assert states["Discord client secret"] == "ok"
    assert states["Kick app"] == "ok"
    assert states["Twitch app"] == "missing"
    assert states["Twitch EventSub secret"] == "missing"
    assert states["Public https address"] == "wrong"  # http://127.0.0.1:<port>
    token_item = page.locator(".setup-item", has_text="Discord bot token")
    assert f"Discord knows it as {BOT_NAME}" in token_item.inner_text()
    twitch = page.locator(".setup-item", has_text="Twitch app")
    assert twitch.locator("a", has_text="Twitch developer console").get_attribute("href") == (
        "https://dev.twitch.tv/console/apps"
    )
    assert f"{site.url}/auth/twitch/callback" in twitch.inner_text()
    invite = page.locator("#invite").get_attribute("href") or ""
    assert f"client_id={CLIENT_ID}" in invite
    assert f"permissions={bot_permissions().value}" in invite
    assert BOT_TOKEN not in page.content()
    shot(page, "setup")
    page.set_viewport_size({"width": 360, "height": 800})
    shot(page, "setup-360")

    other = browser.new_context(extra_http_headers=FORWARDED)
    try:
        second = other.new_page()
        assert second.goto(f"{site.url}/setup?token={token}").status == 404  # used up
    finally:
        other.close()
