"""Every page, as a phone and a laptop show it (issue 27): at 360, 390 and 1366 px wide no page
scrolls sideways, and axe-core (the copy axe-playwright-python ships) finds no serious or
critical violation. The guild has data on every page, so tables and lists are drawn too."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe

from core.events import Platform
from core.features.watchtime.history import record
from core.features.watchtime.tables import watchtime
from tests.bus import make_event
from tests.fakes.discord_oauth import MANAGE_GUILD

GUILD = 111111111111111111
ADMIN = 900000000000000001
WIDTHS = (360, 390, 1366)
SERIOUS = {"serious", "critical"}

PUBLIC = ("/", "/terms", "/privacy", "/raffle/1", "/setup")  # /setup: the browser is on loopback
SIGNED_IN = ("/dashboard/", "/me/")
GUILD_PAGES = (
    "",
    "connections/",
    "watchtime/",
    "linking/",
    "roles/",
    "raffle/",
    "vip/",
    "slot-calls/",
    "heist/",
    "overlays/",
    "events/",
)  # (raffle/standings, vip/list and vip/log are parts these pages fetch, not pages)


def _seed(site) -> None:  # type: ignore[no-untyped-def]
    rt = site.runtime
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    rt.guilds.set_kick_channel(GUILD, "mine", "1001")
    for number, name in enumerate(("ana_kick", "a_viewer_with_a_rather_long_name_indeed", "cy")):
        user_id = str(5001 + number)
        rt.linking.link(guild_id=GUILD, discord_user_id=ADMIN + number + 1,
                        platform=Platform.KICK, platform_user_id=user_id,
                        username=name)  # fmt: skip
        with rt.engine.begin() as conn:
            row = {"guild_id": GUILD, "platform": "kick", "platform_user_id": user_id}
            conn.execute(sa.insert(watchtime).values(**row, seconds=5400 * (number + 1)))
        rt.points.give(GUILD, Platform.KICK, user_id, 250 * (number + 1), actor="test")
    event = dataclasses.replace(make_event("hello chat"), broadcaster_user_id="1001")
    rt.bus.publish(event)
    now = rt.clock()
    with rt.engine.begin() as conn:  # what ticks left over two days: the watchtime charts
        for hours_ago in range(0, 48, 3):
            record(conn, {GUILD: 20 + hours_ago}, 60, now - timedelta(hours=hours_ago))


@pytest.fixture
def signed_in(page, site, discord):  # type: ignore[no-untyped-def]
    _seed(site)
    admin = discord.add_user(ADMIN, "bea").member_of(GUILD, "Stream Server", MANAGE_GUILD)
    discord.sign_in_as(admin)
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")
    return page


def _every_path() -> list[str]:
    guild = [f"/dashboard/{GUILD}/{tail}" for tail in GUILD_PAGES]
    return [*PUBLIC, *SIGNED_IN, *guild]


def _problems(page, axe: Axe) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
                .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '')
                    + (e.className ? '.' + e.className : ''))"""
        )
        found.append(f"{overflow} px wider than the screen ({', '.join(wide)})")
    results = axe.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [node["target"] for node in violation["nodes"][:3]]
            found.append(f"axe {violation['impact']}: {violation['id']} at {targets}")
    return found


def test_no_page_scrolls_sideways_or_fails_axe(signed_in, site, shot):
    page = signed_in
    axe = Axe()
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in _every_path():
            response = page.goto(site.url + path)
            assert response is not None, path
            assert response.status == 200, (path, response.status)
            problems += [f"{path} at {width} px: {p}" for p in _problems(page, axe)]
            name = path.strip("/").replace("/", "-").replace(str(GUILD), "guild") or "home"
            shot(page, f"{width}-{name}")
    assert not problems, "\n".join(problems)


def test_the_charts_are_drawn_from_their_tables(signed_in, site, shot):
    page = signed_in
    page.goto(f"{site.url}/dashboard/{GUILD}/watchtime/")
    for chart in ("per-day", "crowd"):
        found = "id => window.Chart && Chart.getChart(document.querySelector(`#${id} canvas`))"
        drawn = page.evaluate(f"id => Boolean(({found})(id))", chart)
        assert drawn, chart
    points = page.evaluate("() => Chart.getChart(document.querySelector('#crowd canvas')).data")
    assert len(points["labels"]) == 16  # one point per hour that had anyone
    assert points["datasets"][0]["data"][-1] == 20  # the latest hour's crowd
    shot(page, "dashboard-watchtime-charts")
