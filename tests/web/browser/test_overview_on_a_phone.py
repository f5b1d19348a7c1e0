"""In chromium, the pages a streamer opens first, as a phone shows them: the overview's checks
read without scrolling the table sideways, and times on the streamer's own clock."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from core.events import utc
from core.features.slot_calls.posts import queue_post
from core.storage.tables import bus_events, outbox
from tests.bus import make_event
from tests.fakes.discord_oauth import MANAGE_GUILD

# A slot call's longest reason for not being posted (DiscordSlotCallPoster's words).
NOT_FOUND = (
    "not posted: I can't find the slot call channel: it was deleted, or it is a thread that "
    "was archived. Open the thread again, or set one with !slotcalls channel"
)

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


def _in_new_york(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _clock_time(moment: datetime) -> str:
    """``moment`` on a New York wall clock, as a 12-hour clock shows it ("1:37")."""
    local = moment.astimezone(ZoneInfo("America/New_York"))
    return f"{local.hour % 12 or 12}:{local.minute:02d}"


def test_times_on_the_overview_and_the_event_log_are_in_the_viewers_own_zone(
    browser, site, discord
):
    """A streamer in New York reads what the bot could not do, and the events of the log, on
    their own clock (the zone named), not in UTC."""
    rt = site.runtime
    page = _in_new_york(browser)
    try:
        _log_in(page, site, discord)
        now = rt.clock()
        with rt.engine.begin() as conn:
            queue_post(conn, GUILD, 77, 333333333333333301, 1, now, who="ana", slot="Sweet")
            conn.execute(
                sa.update(outbox).values(state="refused", result=NOT_FOUND, finished_at=now)
            )
            finished = conn.execute(sa.select(outbox.c.finished_at)).scalar_one()
        rt.bus.publish(dataclasses.replace(make_event("hello chat"), broadcaster_user_id="1001"))
        with rt.engine.connect() as conn:
            published = conn.execute(sa.select(bus_events.c.published_at)).scalar_one()

        page.goto(f"{site.url}/dashboard/{GUILD}/")
        shown = page.locator("table.undone td[data-label='When']").inner_text()
        assert _clock_time(utc(finished)) in shown, shown
        assert "UTC" not in shown
        assert re.search(r"\bE[SD]T\b", shown), shown

        page.goto(f"{site.url}/dashboard/{GUILD}/events/")
        item = page.locator("#feed li").first.inner_text()
        assert "hello chat" in item
        assert _clock_time(utc(published)) in item, item
        assert "UTC" not in item
    finally:
        page.context.close()
