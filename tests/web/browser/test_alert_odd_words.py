"""What viewers chose, on stream (core/web/overlays/static/): a name with no spaces, zalgo, HTML,
direction overrides, emoji and a 10 kB message stay text inside the alert's box, in chromium."""

from __future__ import annotations

import base64
import dataclasses
import os
from pathlib import Path

from playwright.sync_api import expect

from core.events import Platform, Viewer, utc
from core.features.overlays.alert_kinds import AlertFields
from core.features.overlays.alerts import announce
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.repository import Winner
from core.features.viewers.repository import remember_viewers
from tests.features.overlays.test_views import open_heist
from tests.features.raffle.test_ledger import open_period
from tests.web.browser.test_alerts_live import SETTLED
from tests.web.browser.test_overlay_backdrops import FULL_HD, _show_a_test_alert
from tests.web.dashboard.test_alerts_page import png

GUILD = 111111111111111111
ZALGO = "Z" + "".join(chr(0x0300 + n % 0x70) for n in range(60)) + "algo"
ODD = {
    "long-name": ("W" * 60, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"),
    "zalgo": ("viewer", " ".join([ZALGO] * 6)),
    "html": ("<img src=x onerror=alert(1)>", "<script>alert(1)</script><b>bold</b>"),
    "rtl": ("\u202egnp.exe", "\u202eoverride\u202c \u2067isolate"),
    "emoji": ("\U0001f600" * 30, "\U0001f468\u200d\U0001f469\u200d\U0001f467 " * 40),
    "huge": ("big", "x" * 10_000),
}


def _announce(site, ref: str, who: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with site.runtime.engine.begin() as conn:
        announce(
            conn,
            GUILD,
            "cheer",
            AlertFields(who, 100, message=message),
            f"odd:{ref}",
            utc(site.runtime.clock()),
        )
    site.runtime.live.flush()


def _ink_outside(page, shot: bytes, box_of: str = "#alert") -> int:  # type: ignore[no-untyped-def]
    """How many light, opaque pixels (the white or accent-coloured words) lie outside the box on
    the transparent page: its dark shadow may, its words may not."""
    box = page.locator(box_of).bounding_box()
    assert box is not None
    blank = page.context.new_page()
    try:
        return int(
            blank.evaluate(
                """async ([png, box]) => {
              const img = new Image();
              img.src = 'data:image/png;base64,' + png;
              await img.decode();
              const canvas = document.createElement('canvas');
              canvas.width = img.width; canvas.height = img.height;
              const ctx = canvas.getContext('2d');
              ctx.drawImage(img, 0, 0);
              const d = ctx.getImageData(0, 0, img.width, img.height).data;
              let outside = 0;
              for (let y = 0; y < img.height; y++) {
                for (let x = 0; x < img.width; x++) {
                  if (x >= box.x - 2 && x <= box.x + box.width + 2
                      && y >= box.y - 2 && y <= box.y + box.height + 2) { continue; }
                  const i = (y * img.width + x) * 4;
                  const light = Math.max(d[i], d[i + 1], d[i + 2]) > 120;
                  if (d[i + 3] > 128 && light) { outside++; }
                }
              }
              return outside;
            }""",
                [base64.b64encode(shot).decode(), box],
            )
        )
    finally:
        blank.close()


def test_odd_viewer_words_stay_text_inside_the_alert(page, site, tmp_path):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    site.runtime.overlays.alert_settings.save_style(
        GUILD,
        "cheer",
        # Long enough to be measured on a busy machine before it goes.
        {"enabled": "on", "template": "{who} cheered {amount}: {message}", "seconds": "8"},
    )
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "alerts"))
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)
    shots = Path(os.environ.get("OVERLAY_SHOTS") or tmp_path)  # where to look at them
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    for ref, (who, message) in ODD.items():
        _announce(site, ref, who, message)
        expect(page.locator("#alert[data-kind=cheer]")).to_be_visible(timeout=15_000)
        page.wait_for_function(SETTLED)  # the pop-in ended
        page.screenshot(path=str(shots / f"alert-{ref}.png"))
        outside = _ink_outside(page, page.screenshot(omit_background=True))
        if outside:
            problems.append(f"{ref}: {outside} pixels of words outside the alert")
        assert page.locator("#alert *").count() == 4, ref  # picture, title, words, sound only
        expect(page.locator("#alert[data-kind=cheer]")).to_be_hidden(timeout=30_000)
    assert not problems, "; ".join(problems)


def test_a_goal_title_without_spaces_stays_inside_its_bar(page, site, tmp_path):  # type: ignore[no-untyped-def]
    """The streamer's goal title (up to 100 characters) wraps inside the goal's box even when it
    is one long word (a pasted link, a hashtag run)."""
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    title = "#" + "SUBGOAL" * 14
    site.runtime.overlays.goal.save(GUILD, {"measure": "follows", "target": "50", "title": title})
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "goal"))
    expect(page.locator("#goal")).to_be_visible(timeout=15_000)
    shots = Path(os.environ.get("OVERLAY_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "goal-long-title.png"))
    assert _ink_outside(page, page.screenshot(omit_background=True), "#goal") == 0


def test_odd_names_in_a_heist_crew_stay_in_their_rows(page, site, tmp_path):  # type: ignore[no-untyped-def]
    """The heist overlay's crew: a spaceless name, zalgo, HTML, a direction override and emoji
    each stay text, on one row, inside the panel."""
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    names = ["W" * 60, ZALGO, "<b>x</b><script>1</script>", "\u202egnp.exe", "\U0001f600" * 30]
    crew = [(str(n), name, 100, "low", False) for n, name in enumerate(names, 1)]
    open_heist(site.runtime.engine, GUILD, crew)
    page.set_viewport_size(FULL_HD)
    page.goto(site.runtime.overlays.url(GUILD, "heist"))
    expect(page.locator("#heist-crew li")).to_have_count(len(names), timeout=15_000)
    shots = Path(os.environ.get("OVERLAY_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "heist-odd-names.png"))
    assert _ink_outside(page, page.screenshot(omit_background=True), "#heist") == 0
    assert page.locator("#heist-crew li *").count() == 3 * len(names)  # name, risk, stake
    heights = page.locator("#heist-crew li").evaluate_all("rows => rows.map(r => r.offsetHeight)")
    assert max(heights) - min(heights) <= 4, heights  # one line each


def test_the_longest_alert_with_a_picture_fits_on_the_stage(page, site, tmp_path):  # type: ignore[no-untyped-def]
    """A cheer whose words show its message (200 characters in all, the most an alert says)
    with the streamer's picture: the whole alert, all its words, stays on the 1920x1080 stage."""
    runtime = site.runtime
    runtime.guilds.ensure_guild(GUILD, "Managed")
    image = runtime.overlays.alert_settings.upload(GUILD, "big.png", png(480, 360)).media_id
    runtime.overlays.alert_settings.save_style(GUILD, "cheer", {
        "enabled": "on", "template": "{who} cheered {amount} bits: {message}", "seconds": "10",
        "image_id": image,
    })  # fmt: skip
    page.set_viewport_size(FULL_HD)
    page.goto(runtime.overlays.url(GUILD, "alerts"))
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)
    words = " ".join(["Wonderful"] * 60)
    _announce(site, "long", "a_viewer_with_a_long_name_25", words)
    expect(page.locator("#alert[data-kind=cheer]")).to_be_visible(timeout=20_000)
    expect(page.locator("#alert-image")).to_be_visible()
    page.wait_for_function("() => document.getElementById('alert-image').complete")
    page.wait_for_function(SETTLED)  # the pop-in ended
    shots = Path(os.environ.get("OVERLAY_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "alert-longest-with-picture.png"))
    box = page.locator("#alert").bounding_box()
    words_box = page.locator("#alert-title").bounding_box()
    assert box is not None
    assert words_box is not None
    assert box["y"] + box["height"] <= 1080
    assert words_box["y"] + words_box["height"] <= box["y"] + box["height"]


def test_a_raffle_prize_without_spaces_stays_inside_its_panel(page, site, tmp_path):  # type: ignore[no-untyped-def]
    """The draw's prize (up to 200 characters, typed by a moderator) wraps inside the raffle
    overlay's panel even when it is one long word (a pasted link)."""
    runtime = site.runtime
    runtime.guilds.ensure_guild(GUILD, "Managed")
    now = runtime.clock()
    period_id = open_period(runtime.engine, GUILD)
    with runtime.engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("1", "alice")], now)
        draw_id = draws_repository.create_draw(
            conn, guild_id=GUILD, period_id=period_id, winners_wanted=1,
            prize="https://shop.example/" + "jersey" * 30, requested_by=None, now=now,
        )  # fmt: skip
        waiting = draws_repository.get_draw(conn, draw_id)
        done = dataclasses.replace(
            waiting, status="done", drawn_at=now, forced=True, first_counter=0,
            winners=(Winner(1, Platform.KICK, "1", 3, 0),),
        )  # fmt: skip
        draws_repository.complete_draw(conn, done)
    page.set_viewport_size(FULL_HD)
    page.goto(runtime.overlays.url(GUILD, "raffle"))
    expect(page.locator("#raffle-draw-title")).to_contain_text("Won:", timeout=15_000)
    shots = Path(os.environ.get("OVERLAY_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "raffle-long-prize.png"))
    assert _ink_outside(page, page.screenshot(omit_background=True), "#raffle") == 0
