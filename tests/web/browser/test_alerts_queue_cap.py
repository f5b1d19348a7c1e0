"""The alerts overlay's queue is capped (core/web/overlays/static/alerts.js), in chromium: after a
flood (a backlog delivered after an outage) OBS shows the newest alerts for a few minutes at
most, not every alert for hours."""

from __future__ import annotations

from playwright.sync_api import expect

from core.events import utc
from core.features.overlays.alerts import record
from tests.web.browser.test_overlay_backdrops import _show_a_test_alert

GUILD = 111111111111111111
MAX_WAITING = 20  # alerts.js: the alerts waiting their turn
MAX_WAIT = "05:01"  # alerts.js: past 5 minutes of waiting, an alert is dropped


def _record(site, refs: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    """Alerts recorded as the event handlers record them; their numbers."""
    with site.runtime.engine.begin() as conn:
        made_at = utc(site.runtime.clock())
        numbers = [record(conn, GUILD, "test", f"Alert {r}", "", f"cap:{r}", made_at) for r in refs]
    site.runtime.live.flush()
    return [n for n in numbers if n is not None]


def _shown(page) -> list[int]:  # type: ignore[no-untyped-def]
    seqs = page.locator("body").get_attribute("data-shown-seqs") or ""
    return [int(seq) for seq in seqs.split(",") if seq]


def _shows(page, seq: int) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator("#alert")).to_have_attribute("data-seq", str(seq), timeout=15_000)


def test_a_flood_of_alerts_shows_the_newest_for_minutes_not_hours(page, site):  # type: ignore[no-untyped-def]
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    site.runtime.overlays.save_settings(
        GUILD, {"alert_seconds": "60", "accent_colour": "#9146ff", "text_colour": "#ffffff"}
    )
    page.clock.install()  # the page's own clock, moved on below
    page.goto(site.runtime.overlays.url(GUILD, "alerts"))
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)
    [first] = _shown(page)

    # 50 at once while the first is on screen: the newest 20 wait their turn, the rest are dropped
    flood = _record(site, [f"flood-{n}" for n in range(50)])
    assert len(flood) == 50
    kept = flood[-MAX_WAITING:]
    page.wait_for_function(f"() => window.StreamKeeperAlerts.waiting() >= {flood[0]}")
    page.wait_for_timeout(500)  # (the flood's stream events, one after the other)
    page.clock.run_for(61_000)  # the first one's minute on screen, and the breath after it
    _shows(page, kept[0])
    expect(page.locator("body")).to_have_attribute("data-dropped", str(50 - MAX_WAITING))

    # Over five minutes later, what still waits is dropped, not shown for another 19 minutes
    page.clock.fast_forward(MAX_WAIT)
    page.clock.run_for(1_000)
    expect(page.locator("#alert")).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-dropped", str(50 - 1))
    assert _shown(page) == [first, kept[0]]

    [fresh] = _record(site, ["fresh"])  # and the next alert shows at once
    _shows(page, fresh)
