"""The overlays in a small OBS browser source not shaped like the 1920x1080 stage (a 300x100
strip for the goal bar, say), in chromium: the overlay's one panel fills the source, centred,
instead of the whole stage shrunk to a speck in its corner; at 1920x1080 nothing moves. A link
that does not work says so inside the tiny source too."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.features.overlays.test_views import open_heist

GUILD = 111111111111111111
TINY = {"width": 300, "height": 100}
FULL_HD = {"width": 1920, "height": 1080}


def _box(page, selector: str) -> dict:  # type: ignore[no-untyped-def]
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    box = page.locator(selector).bounding_box()
    assert box is not None
    return box


def _inside(box: dict, size: dict) -> bool:
    return (
        box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )


def _fills(box: dict, size: dict) -> bool:
    """As large as fits: it spans the source's width or its height."""
    return box["width"] >= 0.95 * size["width"] or box["height"] >= 0.95 * size["height"]


def test_the_goal_bar_fills_a_tiny_strip_and_stays_put_at_full_hd(page, site):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    site.runtime.overlays.goal.save(GUILD, {"measure": "follows", "target": "50", "title": "Goal"})
    page.set_viewport_size(TINY)
    page.goto(site.runtime.overlays.url(GUILD, "goal"))
    expect(page.locator("#goal")).to_be_visible(timeout=15_000)
    box = _box(page, "#goal")
    assert _inside(box, TINY), box
    assert _fills(box, TINY), box
    count = _box(page, "#goal-count")
    assert count["height"] >= 8, count  # words a streamer can read, not a 3 px smudge
    page.set_viewport_size(FULL_HD)  # the same page, resized to the stage's shape
    box = _box(page, "#goal")
    assert (round(box["x"]), round(box["y"] + box["height"])) == (48, 1080 - 48), box


def test_the_heist_panel_fills_a_tiny_source(page, site):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    open_heist(site.runtime.engine, GUILD, [("1", "alice", 200, "high", True)])
    page.set_viewport_size(TINY)
    page.goto(site.runtime.overlays.url(GUILD, "heist"))
    expect(page.locator("#heist-crew li")).to_have_count(1, timeout=15_000)
    box = _box(page, "#heist")
    assert _inside(box, TINY), box
    assert _fills(box, TINY), box


def test_a_link_that_does_not_work_says_so_inside_a_tiny_source(page, site):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    page.set_viewport_size(TINY)
    page.goto(site.runtime.overlays.url(GUILD, "goal") + "x")
    note = page.locator(".missing-note")
    expect(note).to_contain_text("Copy it again")
    box = _box(page, ".missing-note")
    assert _inside(box, TINY), box
