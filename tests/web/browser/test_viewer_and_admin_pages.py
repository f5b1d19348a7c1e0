"""In chromium: a viewer without Manage Server logs in, /me shows their own data and unlinking
works; an admin's slot calls and heist & points pages take a change and show a refusal next to
its field (on a phone-sized screen too)."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from core.events import Platform
from core.features.watchtime.tables import watchtime
from tests.fakes.discord_oauth import MANAGE_GUILD

GUILD = 111111111111111111
VIEWER = 900000000000000002
ADMIN = 900000000000000001


def _log_in(page, site):  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")


def test_viewer_sees_their_data_on_me_and_unlinks(page, site, discord, shot):
    rt = site.runtime
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    viewer = discord.add_user(VIEWER, "ana").member_of(GUILD, "Stream Server", 1 << 11)
    discord.sign_in_as(viewer)
    rt.linking.link(guild_id=GUILD, discord_user_id=VIEWER, platform=Platform.KICK,
                    platform_user_id="5001", username="ana_kick")  # fmt: skip
    rt.linking.link(guild_id=GUILD, discord_user_id=ADMIN, platform=Platform.KICK,
                    platform_user_id="5002", username="someone_else")  # fmt: skip
    with rt.engine.begin() as conn:
        conn.execute(
            sa.insert(watchtime).values(
                guild_id=GUILD, platform="kick", platform_user_id="5001", seconds=5400
            )
        )
    rt.points.give(GUILD, Platform.KICK, "5001", 250, actor="test")

    _log_in(page, site)
    assert page.locator("#guild-list a").count() == 0  # no Manage Server anywhere
    page.click("text=Your data")
    page.wait_for_url(site.url + "/me/")
    assert "ana_kick" in page.locator("#links").inner_text()
    mine = page.locator("table.mine").inner_text()
    assert "1 h 30 min" in mine
    assert "250" in mine
    assert "someone_else" not in page.content()
    shot(page, "dashboard-me")
    with page.expect_download() as download:
        page.click("#download")
    assert "ana_kick" in download.value.path().read_text("utf-8")

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("#unlink-kick")  # and thinks better of it
    assert questions == ["Unlink your Kick account ana_kick?"]
    assert rt.linking.link_of(VIEWER, Platform.KICK) is not None
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#unlink-kick")
    page.wait_for_selector("#no-links")
    assert "Unlinked your Kick account ana_kick." in page.locator("main").inner_text()
    assert rt.linking.link_of(VIEWER, Platform.KICK) is None
    assert rt.linking.link_of(ADMIN, Platform.KICK) is not None


def test_admin_pages_take_changes_and_show_refusals(page, site, discord, shot):
    rt = site.runtime
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    admin = discord.add_user(ADMIN, "bea").member_of(GUILD, "Stream Server", MANAGE_GUILD)
    discord.sign_in_as(admin)
    _log_in(page, site)

    page.goto(f"{site.url}/dashboard/{GUILD}/slot-calls/")
    page.check("#f-enabled")
    page.fill("#f-cooldown", "99999")
    page.click("text=Save settings")
    expect(page.locator("#e-cooldown")).to_have_text("The cooldown is 0 to 3600 seconds.")
    shot(page, "dashboard-slot-calls-refused")
    page.fill("#f-cooldown", "60")
    page.click("text=Save settings")
    page.wait_for_selector("text=Slot call settings saved.")
    assert rt.slot_calls.status(GUILD).settings.cooldown_seconds == 60
    assert rt.slot_calls.status(GUILD).settings.enabled is True
    page.fill("#f-name", "troll")
    page.click("text=Add to the blacklist")
    page.wait_for_selector("text=troll is blacklisted.")
    shot(page, "dashboard-slot-calls")

    page.goto(f"{site.url}/dashboard/{GUILD}/heist/")
    page.get_by_label("Low risk (%)").fill("150")
    page.click("#save-odds")
    expect(page.locator("#e-heist-low_chance")).to_contain_text("from 1 to 99")
    page.get_by_label("Low risk (%)").fill("65")
    page.click("#save-odds")
    page.wait_for_selector("text=Chance to come back: Low risk.")
    assert rt.heist.rules(GUILD).low_chance == 65
    shot(page, "dashboard-heist")
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, "dashboard-heist-phone")
    assert width <= 400, width  # no sideways scrolling on a phone


def test_event_log_retries_a_dead_event(page, site, discord, shot):
    import dataclasses

    from core.storage.tables import bus_events
    from tests.bus import make_event

    rt = site.runtime
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    admin = discord.add_user(ADMIN, "bea").member_of(GUILD, "Stream Server", MANAGE_GUILD)
    discord.sign_in_as(admin)
    ok, failed = (
        dataclasses.replace(make_event(text), broadcaster_user_id="1001") for text in ("a", "b")
    )
    rt.bus.publish(ok)
    rt.bus.publish(failed)
    with rt.engine.begin() as conn:  # as the bus sets an event aside after its last attempt
        conn.execute(
            sa.update(bus_events)
            .where(bus_events.c.event_key == failed.key)
            .values(dead_at=rt.clock(), attempts=5, last_error="RuntimeError: boom")
        )
    _log_in(page, site)
    page.goto(f"{site.url}/dashboard/{GUILD}/events/")
    assert "Handling failed (RuntimeError)" in page.locator("#dead").inner_text()
    shot(page, "dashboard-events")
    page.click("#dead button")
    page.wait_for_selector("#no-dead")
    assert "The event is queued again." in page.locator("main").inner_text()
    assert rt.bus.backlog() == 2  # both wait for the consumer (none runs here)
