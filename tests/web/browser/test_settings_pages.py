"""The settings pages in chromium: a raffle setting changed in the browser is what ``!raffleinfo``
shows (rendered by the cog's own render function from the same service), and a role tier added in
the browser is in the service and on the page. Screenshots of the four pages, wide and on a
phone, go to the test's temp dir (and $SCREENSHOT_DIR)."""

from __future__ import annotations

from playwright.sync_api import expect

from core.discord_bot.raffle import render as render_raffle
from core.features.directory.repository import Role, Server
from core.features.directory.service import Snapshot
from core.features.roles.repository import RoleTier
from tests.fakes.discord_oauth import MANAGE_GUILD

GUILD = 111111111111111111
TIER_ROLE = 210000000000000001


def _log_in(page, site, discord):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    user = discord.add_user(900000000000000001, "ana").member_of(GUILD, "Managed", MANAGE_GUILD)
    discord.sign_in_as(user)
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")


def test_a_raffle_setting_changed_in_the_browser_shows_in_raffleinfo(page, site, discord, shot):
    site.runtime.raffle.periods.start(GUILD)
    _log_in(page, site, discord)
    page.goto(f"{site.url}/dashboard/{GUILD}/")
    page.click("nav.guild-nav >> text=Raffle")
    page.wait_for_url(f"{site.url}/dashboard/{GUILD}/raffle/")
    page.get_by_label("Tickets per hour watched").fill("7")
    page.get_by_label("Only linked accounts can win").select_option("off")
    page.click("#save-settings")
    page.wait_for_selector("p.done")
    assert (
        "Saved: Tickets per hour watched, Only linked accounts can win."
        in page.locator("p.done").inner_text()
    )
    assert page.get_by_label("Tickets per hour watched").input_value() == "7"
    shot(page, "dashboard-raffle")

    # What !raffleinfo answers: the cog's render of the same service call.
    embed = render_raffle.info_embed(site.runtime.raffle.views.info(GUILD))
    shown = "\n".join(str(field.value) for field in embed.fields)
    assert "7 per hour watched" in shown
    assert "anyone can win" in shown

    # A refusal comes back next to its field, and nothing changes.
    page.get_by_label("Time zone (e.g. Europe/Berlin)").fill("Mars/Olympus")
    page.click("#save-settings")
    expect(page.locator("#time_zone-error")).to_be_visible()
    shot(page, "dashboard-raffle-refused")
    assert site.runtime.raffle.periods.rates(GUILD).time_zone == "UTC"


def test_a_role_tier_added_in_the_browser(page, site, discord, shot):
    # The server as the bot described it (core/discord_bot/directory/): roles by name.
    roles = (
        Role(TIER_ROLE, "Regulars", 3, assignable=True),
        Role(TIER_ROLE + 1, "Admins", 9),  # above the bot's role: not offered
        Role(GUILD, "@everyone", 0, is_default=True),
    )
    server = Server(GUILD, "Stream Server", None, True)
    site.runtime.directory.record_server(Snapshot(server, roles, ()))
    _log_in(page, site, discord)
    page.goto(f"{site.url}/dashboard/{GUILD}/roles/")
    offered = page.locator("#role_id option").all_inner_texts()
    assert offered == ["Pick a role", "@Regulars"]
    page.get_by_label("Role", exact=True).select_option(label="@Regulars")
    page.get_by_label("Hours watched to earn it").fill("10")
    page.click("#add-tier-button")
    page.wait_for_selector("p.done")
    assert site.runtime.roles.tiers(GUILD) == [RoleTier(TIER_ROLE, 600)]
    row = page.locator("#tier-list tbody tr")
    assert row.count() == 1
    assert "@Regulars" in row.inner_text()
    assert str(TIER_ROLE) not in page.locator("main").inner_text()  # a name, not an id
    assert "10" in row.inner_text()
    shot(page, "dashboard-roles")

    # On a phone the same page still fits (no sideways scrolling).
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{site.url}/dashboard/{GUILD}/roles/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "dashboard-roles-phone")


def test_screenshots_of_watchtime_and_linking(page, site, discord, shot):
    _log_in(page, site, discord)
    for area in ("watchtime", "linking", "raffle"):
        page.set_viewport_size({"width": 1100, "height": 800})
        assert page.goto(f"{site.url}/dashboard/{GUILD}/{area}/").status == 200
        shot(page, f"dashboard-{area}")
        page.set_viewport_size({"width": 390, "height": 800})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, area
        shot(page, f"dashboard-{area}-phone")
