"""The Overlays page keeps each overlay's secret URL hidden until it is shown (issue 46): a
streamer with the dashboard on screen leaks nothing; "Copy the URL" copies it without showing
it; "Show the URL" shows it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.fakes.discord_oauth import MANAGE_GUILD
from tests.web.browser.test_login import _log_in

GUILD = 111111111111111111
ADMIN = 900000000000000001


def test_overlay_urls_are_hidden_until_shown_and_copy_without_showing(page, site, discord):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    discord.sign_in_as(discord.add_user(ADMIN, "ana").member_of(GUILD, "Managed", MANAGE_GUILD))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    _log_in(page, site)
    page.goto(f"{site.url}/dashboard/{GUILD}/overlays/")
    urls = {kind: site.runtime.overlays.url(GUILD, kind) for kind in ("alerts", "raffle", "heist")}
    shown = page.locator("main").inner_text()
    for kind, url in urls.items():
        assert url.rsplit("/", 1)[1] not in shown, kind  # no token on screen
        expect(page.locator(f"#url-{kind}")).to_be_hidden()

    page.click("#copy-raffle")
    expect(page.locator("#copy-raffle")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == urls["raffle"]
    expect(page.locator("#url-raffle")).to_be_hidden()  # copied, still not shown

    page.click("#reveal-heist summary")
    expect(page.locator("#url-heist")).to_be_visible()
    assert page.locator("#url-heist").input_value() == urls["heist"]
    expect(page.locator("#url-alerts")).to_be_hidden()  # only the one asked for
