"""The VIP page with rules and a month of analytics, in Chromium at 360 and 1366 px: nothing
scrolls sideways, axe-core finds no serious or critical violation, and the SVG charts are drawn
(the server draws them: no script). Screenshots go to $SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from core.events import Platform
from core.features.vip import repository, rules_repository
from core.features.vip.repository import AuditEntry, Grant
from core.features.vip.rules_repository import VipRule
from tests.fakes.discord_oauth import MANAGE_GUILD
from tests.web.browser.test_every_page import _problems

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GUILD = 111111111111111111
ADMIN = 900000000000000001


def _seed(rt) -> None:  # type: ignore[no-untyped-def]
    """Three rules (one with a long reward title), a month of grants by them and by hand, two
    refunds, an open grant and an outside VIP."""
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    now = rt.clock()
    with rt.engine.begin() as conn:
        repository.save_settings(conn, GUILD, {"kick_role_id": 42}, now)
        made = [
            rules_repository.add_rule(conn, VipRule(0, GUILD, platform, kind, hours, now, **more))
            for platform, kind, hours, more in (
                (Platform.TWITCH, "bits", 24, {"at_least": 500}),
                (Platform.TWITCH, "reward", 168, {"reward_id": "r-2", "reward_cost": 25000,
                                                  "reward_title": "VIP for a whole week, no less"}),
                (Platform.KICK, "kicks", 12, {"at_least": 100}),
            )
        ]  # fmt: skip
        for n in range(30):
            at = now - timedelta(days=n, hours=3)
            platform = Platform.KICK if n % 3 == 2 else Platform.TWITCH
            action = "refunded" if n % 10 == 9 else "granted"
            repository.add_audit(conn, AuditEntry(
                guild_id=GUILD, platform=platform, broadcaster_user_id="1",
                platform_user_id=str(5000 + n % 6), username=f"a_viewer_with_a_long_name_{n % 6}",
                action=action, actor_kind="viewer", at=at,
                reason="the channel has no free VIP slots" if action == "refunded" else None,
                new_expires_at=at + timedelta(hours=24) if action == "granted" else None,
                rule_id=made[n % 3] if action == "granted" else None,
            ))  # fmt: skip
        for user, source, days in (("5001", "rule", 1), ("6001", "outside", 5)):
            repository.add_grant(conn, Grant(
                0, GUILD, Platform.TWITCH, "1", user, f"viewer{user}", source,
                now - timedelta(days=days), now + timedelta(hours=5) if source == "rule" else None,
            ))  # fmt: skip


def _sign_in_as_admin(page, site, discord) -> None:  # type: ignore[no-untyped-def]
    """The server's admin signs in to the dashboard through the fake Discord."""
    admin = discord.add_user(ADMIN, "bea").member_of(GUILD, "Stream Server", MANAGE_GUILD)
    discord.sign_in_as(admin)
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
        for part in ("rules", "analytics"):
            page.locator(f"#{part}").screenshot(path=str(Path(folder) / f"{name}-{part}.png"))


def test_the_vip_page_with_rules_and_analytics_fits_and_passes_axe(page, site, discord) -> None:  # type: ignore[no-untyped-def]
    _seed(site.runtime)
    _sign_in_as_admin(page, site, discord)
    axe = Axe()
    problems = []
    for width in (360, 1366):
        page.set_viewport_size({"width": width, "height": 800})
        response = page.goto(f"{site.url}/dashboard/{GUILD}/vip/?days=30")
        assert response is not None
        assert response.status == 200
        problems += [f"{width} px: {p}" for p in _problems(page, axe)]
        for chart in ("chart-active", "chart-rule", "chart-platform", "chart-hours",
                      "chart-refunds", "chart-top"):  # fmt: skip
            box = page.locator(f"#{chart}").bounding_box()
            assert box is not None, chart
            assert 100 < box["width"] <= width, (chart, box)
            assert box["height"] > 20, (chart, box)
        _shot(page, f"vip-rules-{width}")
    assert not problems, "\n".join(problems)
    assert page.locator("#rule-2").inner_text().startswith("Rule 2 (Twitch): the reward")
    assert "Grants by rule" in page.locator("#analytics").inner_text()

    # Removing the Twitch reward rule asks first, since its reward goes from Twitch too.
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("text=Remove rule 2")
    assert questions == [
        "Remove rule 2? Its reward 'VIP for a whole week, no less' is deleted on Twitch too."
    ]
    assert page.locator("#rule-2").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Remove rule 2")
    page.wait_for_selector("#rule-2", state="detached")
    assert "its reward will be deleted on Twitch" in page.locator("main").inner_text()
    page.click("text=Remove rule 1")  # a bits rule: no question
    page.wait_for_selector("#rule-1", state="detached")
    with site.runtime.engine.connect() as conn:
        assert [r.id for r in rules_repository.list_rules(conn, GUILD)] == [3]


def test_a_rule_whose_reward_was_deleted_on_twitch_tv_shows_its_problem(  # type: ignore[no-untyped-def]
    page, site, discord
) -> None:
    """At 390 and 1366 px the broken rule says why in words, inside the page's width, with its
    "Make the reward again" button; axe-core finds nothing serious."""
    rt = site.runtime
    rt.guilds.ensure_guild(GUILD, "Stream Server")
    now = rt.clock()
    with rt.engine.begin() as conn:
        for title, gone in (("VIP for a whole week, no less", now), ("VIP for a day", None)):
            rules_repository.add_rule(conn, VipRule(
                0, GUILD, Platform.TWITCH, "reward", 168, now, reward_id=f"r-{title}",
                reward_title=title, reward_cost=25000, reward_gone_at=gone,
            ))  # fmt: skip
    _sign_in_as_admin(page, site, discord)
    axe = Axe()
    problems = []
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 800})
        response = page.goto(f"{site.url}/dashboard/{GUILD}/vip/")
        assert response is not None
        assert response.status == 200
        problems += [f"{width} px: {p}" for p in _problems(page, axe)]
        said = page.locator("#rule-1-problem")
        assert said.inner_text() == (
            "Broken: Its reward was deleted on twitch.tv: viewers cannot redeem it. Remove this "
            "rule, or make its reward again."
        )
        box = said.bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= width, box
        assert page.locator("#rule-1").get_by_role("button", name="Make the reward again").count()
        assert page.locator("#rule-2-problem").count() == 0
        _shot(page, f"vip-rule-broken-{width}")
    assert not problems, "\n".join(problems)


# Each drawn chart's text: its size on the screen (the font size times the <svg>'s scale, its
# width on the screen over its viewBox's) and its box, with the <svg>'s box.
_CHART_TEXT = """() => [...document.querySelectorAll('svg.svg-chart')]
  .filter(svg => svg.getClientRects().length)
  .map(svg => {
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    return {id: svg.id, left: box.left, right: box.right, texts: [...svg.querySelectorAll('text')]
      .map(t => ({text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
                  box: t.getBoundingClientRect().toJSON()}))};
  })"""


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"] - 1
        and b["left"] < a["right"] - 1
        and a["top"] < b["bottom"] - 1
        and b["top"] < a["bottom"] - 1
    )


def test_the_vip_charts_can_be_read_on_a_phone(page, site, discord) -> None:  # type: ignore[no-untyped-def]
    """At 360 px every word and number of each chart is at least 11 px tall, inside its chart and
    over no other; the page does not scroll sideways. At 1366 px the charts are as readable."""
    _seed(site.runtime)
    _sign_in_as_admin(page, site, discord)
    for width in (360, 1366):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{site.url}/dashboard/{GUILD}/vip/?days=30")
        charts = page.evaluate(_CHART_TEXT)
        assert len(charts) == 6, charts
        for chart in charts:
            assert chart["texts"], chart["id"]
            for text in chart["texts"]:
                assert text["px"] >= 11, (width, chart["id"], text)
                assert chart["left"] - 1 <= text["box"]["left"], (width, chart["id"], text)
                assert text["box"]["right"] <= chart["right"] + 1, (width, chart["id"], text)
            boxes = [t["box"] for t in chart["texts"]]
            clashes = [(a, b) for n, a in enumerate(boxes) for b in boxes[:n] if _overlap(a, b)]
            assert not clashes, (width, chart["id"], clashes)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
