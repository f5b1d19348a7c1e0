"""The public pages: landing, terms and privacy (operator from settings; privacy names every
table), their security headers, in chromium and over plain HTTP."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from core.discord_bot.permissions import bot_permissions
from core.platforms.http import tls_context
from core.web.dashboard.privacy import STORED
from core.web.dashboard.public import all_tables


def test_landing_page_has_login_and_add_bot_links(page: Page, site, shot):
    page.goto(site.url + "/")
    assert page.locator("h1").inner_text()
    assert page.locator("main >> text=Log in with Discord").count() == 1
    add_bot = page.locator("#add-bot").get_attribute("href") or ""
    assert "scope=bot%20applications.commands" in add_bot
    assert f"permissions={bot_permissions().value}" in add_bot
    assert "client_id=" in add_bot
    shot(page, "landing")


def test_terms_and_privacy_name_the_operator(page: Page, site):
    for path in ("/terms", "/privacy"):
        page.goto(site.url + path)
        assert "Ana Operator" in page.locator("main").inner_text()
        assert page.locator("#operator-contact").inner_text() == "privacy@operator.example"


def test_privacy_lists_every_table_of_the_schema(page: Page, site):
    listed = {table for item in STORED for table in item.tables}
    assert all_tables() <= listed, f"not on /privacy: {sorted(all_tables() - listed)}"
    page.goto(site.url + "/privacy")
    shown = set(page.locator("td.tables code").all_inner_texts())
    assert shown == listed


def test_every_dashboard_response_has_the_security_headers(site):
    with httpx.Client(base_url=site.url, verify=tls_context()) as client:
        for path in ("/", "/terms", "/privacy", "/raffle/1", "/raffle/1/proof.json", "/dashboard/"):
            response = client.get(path)
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp, path
            assert "frame-ancestors 'none'" in csp, path
            assert "unsafe-inline" not in csp, path
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert response.headers["Referrer-Policy"], path
        assert (
            client.get("/health")
            .headers["Content-Security-Policy"]
            .startswith("default-src 'none'")
        )  # the rest of the app keeps its own


def test_pages_load_no_inline_script(page: Page, site):
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security" in msg.text else None,
    )
    for path in ("/", "/terms", "/privacy", "/raffle/1"):
        page.goto(site.url + path)
        assert page.locator("script:not([src])").count() == 0, path
    assert violations == []


def test_public_pages_fit_a_phone(browser, site, shot):
    context = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True)
    try:
        page = context.new_page()
        for path in ("/", "/privacy", "/raffle/1"):
            page.goto(site.url + path)
            overflow = page.evaluate(
                "() => document.scrollingElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, path
        shot(page, "phone-proof")
    finally:
        context.close()
