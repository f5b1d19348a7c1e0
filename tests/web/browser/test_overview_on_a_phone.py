"""In chromium, the pages a streamer opens first, as a phone shows them: the overview's checks
read without scrolling the table sideways."""

from __future__ import annotations

from tests.fakes.discord_oauth import MANAGE_GUILD

GUILD = 111111111111111111
ADMIN = 900000000000000001
PHONE = {"width": 360, "height": 800}


def _log_in(page, site, discord):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Stream Server")
    site.runtime.guilds.set_kick_channel(GUILD, "mine", "1001")  # long lines: not connected
    admin = discord.add_user(ADMIN, "bea").member_of(GUILD, "Stream Server", MANAGE_GUILD)
    discord.sign_in_as(admin)
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")


def test_the_overviews_checks_are_read_on_a_phone_without_scrolling_sideways(page, site, discord):
    _log_in(page, site, discord)
    page.set_viewport_size(PHONE)
    page.goto(f"{site.url}/dashboard/{GUILD}/")

    cells = page.locator("table.checks td")
    assert cells.count() >= 3 * 4  # database, bus, webhooks and the Kick lines
    past_the_edge = page.evaluate(
        """() => [...document.querySelectorAll('table.checks td')]
            .filter(td => td.getBoundingClientRect().right > innerWidth)
            .map(td => td.innerText)"""
    )
    assert past_the_edge == []
    # Each line says what it is, as the other lists on a phone do.
    detail = page.locator("table.checks tr.fail td").last
    assert detail.get_attribute("data-label") == "Detail"
