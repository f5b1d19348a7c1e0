"""The goal overlay at its target, past it and after a count taken back below zero, in chromium
at OBS's 1920x1080 and in a tiny 300x100 browser source: the bar fills its track and no more,
says the goal is reached, and never shows a negative count."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from core.features.live.changes import touch
from core.features.overlays.tables import overlay_goals

GUILD = 111111111111111111
SIZES = {"full-hd": {"width": 1920, "height": 1080}, "tiny": {"width": 300, "height": 100}}
SHOWN_WITHIN_MS = 15_000
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"


def _count(site, progress: int) -> None:  # type: ignore[no-untyped-def]
    """The goal's count set to ``progress``, and the open overlay told."""
    with site.runtime.engine.begin() as conn:
        conn.execute(
            sa.update(overlay_goals)
            .where(overlay_goals.c.guild_id == GUILD)
            .values(progress=progress)
        )
        touch(conn, GUILD, "goal")
    site.runtime.live.flush()


def _widths(page) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    page.wait_for_function(SETTLED)  # the fill's slide ended
    fill = page.locator("#goal-fill").bounding_box()
    bar = page.locator("#goal-bar").bounding_box()
    assert fill is not None
    assert bar is not None
    return fill["width"], bar["width"]


def _inside(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None
    assert size is not None
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_goal_bar_at_and_past_its_target_and_below_zero(page, site, size):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    site.runtime.overlays.goal.save(
        GUILD, {"measure": "follows", "target": "50", "title": "Road to 50"}
    )
    page.set_viewport_size(size)
    page.goto(site.runtime.overlays.url(GUILD, "goal"))
    goal = page.locator("#goal")
    expect(goal).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#goal-reached")).to_be_hidden()
    assert _inside(page, "#goal")

    _count(site, 50)
    expect(page.locator("#goal-count")).to_have_text("50 / 50 follows", timeout=SHOWN_WITHIN_MS)
    expect(goal).to_have_attribute("data-reached", "yes")
    expect(page.locator("#goal-reached")).to_have_text("Goal reached!")
    expect(page.locator("#goal-reached")).to_be_visible()
    fill, bar = _widths(page)
    assert abs(fill - bar) <= 1
    assert _inside(page, "#goal")
    assert _inside(page, "#goal-reached")

    _count(site, 75)
    expect(page.locator("#goal-count")).to_have_text("75 / 50 follows", timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#goal-reached")).to_be_visible()
    fill, bar = _widths(page)
    assert fill <= bar + 0.5  # full, never past its track
    assert page.locator("#goal-bar").get_attribute("aria-valuenow") == "50"

    _count(site, -4)
    expect(page.locator("#goal-count")).to_have_text("0 / 50 follows", timeout=SHOWN_WITHIN_MS)
    expect(goal).not_to_have_attribute("data-reached", "yes")
    expect(page.locator("#goal-reached")).to_be_hidden()
    fill, _ = _widths(page)
    assert fill == 0
    assert page.locator("#goal-bar").get_attribute("aria-valuenow") == "0"
