"""Overlay text readable over any scene (issue 46): each overlay, showing what it shows on
stream, rendered in a page with a white and with a black body behind it (OBS draws the browser
source over the scene), has no serious or critical axe finding. The raffle overlay shows a draw
nobody won: "No winner this time" and why, never a prize "won" by no name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.features.overlays.test_views import open_heist
from tests.web.browser.test_alerts_live import SETTLED

GUILD = 111111111111111111
ADMIN = 900000000000000001
FULL_HD = {"width": 1920, "height": 1080}
SERIOUS = {"serious", "critical"}
SHOWN_WITHIN_MS = 15_000


@pytest.fixture
def staged(site):  # type: ignore[no-untyped-def]
    """A guild whose three overlays all have something on screen: a test alert shown for a
    minute, a heist with its crew, a raffle whose last draw nobody won."""
    runtime = site.runtime
    runtime.guilds.ensure_guild(GUILD, "Managed")
    runtime.overlays.save_settings(GUILD, {
        "alert_vip": "on", "alert_gifts": "on", "milestones": "100", "alert_seconds": "60",
        "accent_colour": "#9146ff", "text_colour": "#ffffff",
    })  # fmt: skip
    runtime.raffle.periods.start(GUILD)
    runtime.raffle.periods.end(GUILD)
    runtime.raffle.draws.request(GUILD, actor_id=ADMIN, winners=1, prize="Signed jersey")
    runtime.raffle.draws.force(GUILD, actor_id=ADMIN)
    open_heist(runtime.engine, GUILD, [("1", "alice", 200, "high", False)])
    return site


def _backdrop(page, colour: str) -> None:  # type: ignore[no-untyped-def]
    page.evaluate(
        "c => { document.documentElement.style.background = c;"
        " document.body.style.background = c; }",
        colour,
    )


def _serious(page, axe: Axe) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [node["target"] for node in violation["nodes"][:3]]
            found.append(f"{violation['impact']}: {violation['id']} at {targets}")
    return found


def _show_a_test_alert(page, site) -> None:  # type: ignore[no-untyped-def]
    """A test alert on screen. A fresh overlay starts at the newest alert once its stream has
    opened, so one sent while the shared connection was still opening is, rightly, past: send
    another until one shows."""
    deadline = time.monotonic() + 60
    while True:
        site.runtime.overlays.send_test_alert(GUILD)
        site.runtime.live.flush()
        try:
            expect(page.locator("#alert")).to_be_visible(timeout=3_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_every_overlay_reads_over_white_and_black_scenes(page, staged, tmp_path):  # type: ignore[no-untyped-def]
    site = staged
    axe = Axe()
    page.set_viewport_size(FULL_HD)
    problems = []
    for kind in ("alerts", "raffle", "heist"):
        page.goto(site.runtime.overlays.url(GUILD, kind))
        expect(page.locator("body")).to_have_attribute("data-live", "yes")
        if kind == "alerts":
            _show_a_test_alert(page, site)
            page.wait_for_function(SETTLED)  # axe reads colours: not halfway through the pop-in
        else:
            expect(page.locator(f"#{kind}")).to_be_visible(timeout=SHOWN_WITHIN_MS)
        for colour in ("#ffffff", "#000000"):
            _backdrop(page, colour)
            problems += [f"{kind} over {colour}: {p}" for p in _serious(page, axe)]
            page.screenshot(path=str(Path(tmp_path, f"overlay-{kind}-{colour[1:]}.png")))
    assert not problems, "\n".join(problems)


def test_a_draw_nobody_won_says_so_and_why(page, staged):  # type: ignore[no-untyped-def]
    page.set_viewport_size(FULL_HD)
    page.goto(staged.runtime.overlays.url(GUILD, "raffle"))
    expect(page.locator("#raffle-draw")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#raffle-draw-title")).to_have_text("No winner this time")
    expect(page.locator("#raffle-no-winner")).to_have_text(
        "Nobody held a ticket when the raffle closed."
    )
    assert "Won" not in page.locator("#raffle").inner_text()
    assert page.locator("#raffle-winners").is_hidden()
    assert "/raffle/" in page.locator("#raffle-proof").inner_text()  # still checkable


def test_a_wrong_overlay_link_says_so_readably_over_any_scene(page, staged, tmp_path):  # type: ignore[no-untyped-def]
    """A rotated (or mistyped) link in OBS: a short note the streamer can read over a white or a
    black scene, the rest of the page transparent."""
    site = staged
    old = site.runtime.overlays.url(GUILD, "alerts")
    site.runtime.overlays.url(GUILD, "alerts", rotate=True)
    page.set_viewport_size(FULL_HD)
    answer = page.goto(old)
    assert answer is not None
    assert answer.status == 404
    expect(page.locator(".missing-note")).to_contain_text("This overlay link does not work")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgba(0, 0, 0, 0)"
    problems = []
    for colour in ("#ffffff", "#000000"):
        _backdrop(page, colour)
        problems += [f"over {colour}: {p}" for p in _serious(page, Axe())]
        page.screenshot(path=str(Path(tmp_path, f"overlay-missing-{colour[1:]}.png")))
    assert not problems, "\n".join(problems)


def test_an_open_overlay_whose_link_is_rotated_says_so_instead_of_freezing(page, staged):  # type: ignore[no-untyped-def]
    """The streamer rotates the link while the old one is open in OBS: the source shows the
    note that the link no longer works, not its last picture for the rest of the stream."""
    site = staged
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "raffle"))
    expect(page.locator("#raffle")).to_be_visible(timeout=SHOWN_WITHIN_MS)

    site.runtime.overlays.url(GUILD, "raffle", rotate=True)
    site.runtime.live.flush()

    expect(page.locator(".missing-note")).to_contain_text(
        "This overlay link does not work", timeout=SHOWN_WITHIN_MS
    )
    expect(page.locator("#raffle")).to_have_count(0)


def test_an_alerts_overlay_reloaded_shows_the_alert_of_the_reload_and_replays_none(page, staged):  # type: ignore[no-untyped-def]
    """OBS reloads a source (refreshed, or shut down while hidden): an alert that came while the
    page was away shows when it is back, and the one it had shown is not played again. A page
    back long after (its memory older than a minute) starts at the newest, replaying nothing."""
    site = staged
    url = site.runtime.overlays.url(GUILD, "alerts")
    page.set_viewport_size(FULL_HD)
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)
    shown = page.locator("body").get_attribute("data-shown-seqs").split(",")[-1]
    page.goto("about:blank")  # the source is away
    during = site.runtime.overlays.send_test_alert(GUILD)
    site.runtime.live.flush()
    page.goto(url)
    body = page.locator("body")
    expect(body).to_have_attribute("data-shown-seqs", str(during), timeout=SHOWN_WITHIN_MS)
    assert int(shown) < during

    origin = url.split("/overlay/")[0]
    page.goto(f"{origin}/overlay/static/overlay.css")  # away, on the same site: its storage
    page.evaluate(
        "([key, seq]) => localStorage.setItem(key, JSON.stringify({seq, at: Date.now() - 6e5}))",
        [f"streamkeeper-alerts:{url.rsplit('/', 1)[1]}", int(shown)],
    )  # its memory of the first alert, as if the page had been away ten minutes
    page.goto(url)
    _show_a_test_alert(page, site)  # one sent after it started
    first = int(body.get_attribute("data-shown-seqs").split(",")[0])
    assert first > during  # the alert of the reload before was not played again


def test_an_open_overlay_takes_up_new_colours_without_a_refresh(page, staged, tmp_path):  # type: ignore[no-untyped-def]
    """The streamer picks another accent colour on the dashboard: the source open in OBS shows
    it by itself."""
    site = staged
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "raffle"))
    expect(page.locator("#raffle")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    accent = "() => getComputedStyle(document.documentElement).getPropertyValue('--accent')"
    assert page.evaluate(accent).strip() == "#9146ff"
    site.runtime.overlays.save_settings(GUILD, {
        "alert_vip": "on", "alert_gifts": "on", "milestones": "100", "alert_seconds": "60",
        "accent_colour": "#e4572e", "text_colour": "#ffffff",
    })  # fmt: skip
    site.runtime.live.flush()
    page.wait_for_function(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
        " === '#e4572e'",
        timeout=SHOWN_WITHIN_MS,
    )
    expect(page.locator("#raffle")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    _backdrop(page, "#000000")
    page.screenshot(path=str(Path(tmp_path, "overlay-raffle-new-accent.png")))


def test_alerts_waiting_their_turn_are_not_lost_when_obs_reloads_the_overlay(page, staged):  # type: ignore[no-untyped-def]
    """One alert on screen (a minute long), the next waiting its turn: OBS reloads the source.
    The one shown is not played again; the one waiting is."""
    site = staged
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "alerts"))
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)
    waiting = site.runtime.overlays.send_test_alert(GUILD)
    site.runtime.live.flush()
    page.wait_for_function(
        f"() => window.StreamKeeperAlerts && window.StreamKeeperAlerts.waiting() === {waiting}",
        timeout=SHOWN_WITHIN_MS,
    )
    page.reload()
    expect(page.locator("body")).to_have_attribute(
        "data-shown-seqs", str(waiting), timeout=SHOWN_WITHIN_MS
    )


def test_alerts_waiting_their_turn_go_when_the_streamer_turns_their_kind_off(page, staged):  # type: ignore[no-untyped-def]
    """A flood of VIP alerts (or follows) waiting their turn: the streamer turns the kind off on
    the dashboard, and the open overlay drops them by itself; other alerts still show."""
    from tests.web.overlays.test_overlay_pages import grant

    site = staged
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "alerts"))
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)  # on screen for a minute
    grant(site, GUILD, "7")
    vip = site.runtime.overlays.last_alert(GUILD)
    page.wait_for_function(
        f"() => window.StreamKeeperAlerts && window.StreamKeeperAlerts.waiting() === {vip}",
        timeout=SHOWN_WITHIN_MS,
    )
    site.runtime.overlays.save_settings(
        GUILD,
        {
            "alert_gifts": "on",
            "milestones": "100",
            "alert_seconds": "60",
            "accent_colour": "#9146ff",
            "text_colour": "#ffffff",
        },
    )  # fmt: skip  (VIP alerts off)
    site.runtime.live.flush()
    page.wait_for_function(  # reloaded: nothing shown yet, nothing waiting
        "() => !document.body.getAttribute('data-shown-seqs')"
        " && window.StreamKeeperAlerts && window.StreamKeeperAlerts.waiting() === null",
        timeout=SHOWN_WITHIN_MS,
    )
    _show_a_test_alert(page, site)
    shown = page.locator("body").get_attribute("data-shown-seqs").split(",")
    assert str(vip) not in shown
