"""The error pages as a browser shows them: an unknown address, a bookmarked form's address and
a picture too large for an upload are pages in the dashboard's look at 360 and 1366 px, which
neither scroll sideways nor fail axe (tests/web/browser/test_every_page.py's checks)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.web.browser.test_every_page import DOCS, WIDTHS, _problems
from tests.web.browser.test_settings_pages import GUILD, _log_in


@pytest.fixture
def signed_in(page, site, discord):  # type: ignore[no-untyped-def]
    _log_in(page, site, discord)  # ana, who manages GUILD
    return page


def test_an_unknown_address_and_a_forms_address_are_pages(signed_in, site, shot):
    page, axe, problems = signed_in, Axe(), []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path, status, title in (
            ("/no-such-page", 404, "Page not found"),
            (f"/dashboard/{GUILD}/roles/add", 405, "Not available this way"),
        ):
            response = page.goto(site.url + path)
            assert response is not None
            assert response.status == status
            assert page.locator("h1").inner_text() == title
            assert page.locator("#logout").count() == 1  # still signed in, and shown so
            problems += [f"{path} at {width} px: {p}" for p in _problems(page, axe)]
            shot(page, f"error-{status}-{DOCS[width]}", keep=False)
    assert not problems, "\n".join(problems)


def test_a_picture_too_large_is_a_page_that_says_nothing_was_saved(signed_in, site, shot):
    page = signed_in
    page.goto(f"{site.url}/dashboard/{GUILD}/alerts/")
    big = b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024)
    page.set_input_files("input[type=file]", files=[
        {"name": "huge.png", "mimeType": "image/png", "buffer": big}
    ])  # fmt: skip
    with page.expect_navigation() as answered:
        page.locator("input[type=file]").evaluate("input => input.form.submit()")
    assert answered.value.status == 413
    assert page.locator("h1").inner_text() == "Too large"
    assert "nothing was saved" in page.locator("main").inner_text()
    assert _problems(page, Axe()) == []
    shot(page, "error-413-desktop", keep=False)
    assert site.runtime.overlays.alert_settings.media(GUILD) == []


def test_the_overview_while_the_database_is_down_shows_its_lines(signed_in, site, shot):
    from tests.web.test_oauth import take_database_down

    page, axe, problems = signed_in, Axe(), []
    take_database_down(site.runtime, str(site.runtime.engine.url), None)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        response = page.goto(f"{site.url}/dashboard/{GUILD}/")
        assert response is not None
        assert response.status == 503
        assert page.locator("h1").inner_text() == "Please try again"
        assert "FAIL" in page.locator("table.checks").inner_text()
        problems += [f"at {width} px: {p}" for p in _problems(page, axe)]
        shot(page, f"error-database-down-{DOCS[width]}", keep=False)
    assert not problems, "\n".join(problems)
