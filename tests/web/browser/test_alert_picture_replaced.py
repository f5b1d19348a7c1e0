"""A streamer who replaces an alert's picture sees the new one on the very next alert, in
chromium (whose cache keeps the pictures it was given): each upload has an address of its own,
which never serves other bytes, so the browser may keep it for good and still never shows an
old picture for a new one."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser.test_alert_odd_words import GUILD, _announce
from tests.web.browser.test_overlay_backdrops import FULL_HD, _show_a_test_alert
from tests.web.dashboard.test_alerts_page import png

LOADED = "() => { const i = document.getElementById('alert-image'); return i && i.complete; }"


def _cheer_with(site, media_id: str) -> None:  # type: ignore[no-untyped-def]
    site.runtime.overlays.alert_settings.save_style(GUILD, "cheer", {
        "enabled": "on", "template": "{who} cheered {amount}", "seconds": "3", "image_id": media_id,
    })  # fmt: skip


def _shown_width(page, site, ref: str) -> int:  # type: ignore[no-untyped-def]
    expect(page.locator("body")).to_have_attribute("data-live", "yes", timeout=15_000)
    _announce(site, ref, "viewer", "")
    expect(page.locator("#alert[data-kind=cheer]")).to_be_visible(timeout=20_000)
    page.wait_for_function(LOADED)
    width = int(page.evaluate("document.getElementById('alert-image').naturalWidth"))
    expect(page.locator("#alert[data-kind=cheer]")).to_be_hidden(timeout=20_000)
    return width


def test_a_replaced_alert_picture_shows_on_the_next_alert(page, site):  # type: ignore[no-untyped-def]
    settings = site.runtime.overlays.alert_settings
    site.runtime.guilds.ensure_guild(GUILD, "Managed")
    old = settings.upload(GUILD, "old.png", png(240, 180)).media_id
    _cheer_with(site, old)
    page.set_viewport_size(FULL_HD)
    served: list[tuple[str, str]] = []
    page.on(
        "response",
        lambda r: "/media/" in r.url and served.append((r.url, r.headers.get("cache-control", ""))),
    )
    page.goto(site.runtime.overlays.url(GUILD, "alerts"))
    expect(page.locator("body")).to_have_attribute("data-live", "yes")
    _show_a_test_alert(page, site)
    expect(page.locator("#alert")).to_be_hidden(timeout=20_000)
    assert _shown_width(page, site, "first") == 240

    new = settings.upload(GUILD, "new.png", png(320, 200)).media_id
    _cheer_with(site, new)  # the open overlay reloads with the new look
    assert _shown_width(page, site, "second") == 320

    # Each address is kept by the browser for good: it never serves other bytes.
    assert served, "no picture was fetched"
    for url, cache in served:
        assert "immutable" in cache, (url, cache)
        assert "max-age=31536000" in cache, (url, cache)
    assert {url.rsplit("/", 1)[-1] for url, _ in served} == {old, new}
