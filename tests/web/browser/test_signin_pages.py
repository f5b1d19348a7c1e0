"""The sign-in pages a member sees on the way to linking (``core/web/connections/``) in
chromium, on a phone (360 px) and a laptop: the start page with its button, a link that is not
valid, an expired one and a callback that cannot be used. None scrolls sideways, axe-core finds
nothing at all (the button is in the page's main landmark), and the tab says what the page says.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from core.security.links import new_claims, signed_link
from tests.fakes import kick_server

GUILD, MEMBER = 4242, 888


@pytest.fixture
def site_settings() -> dict[str, str]:
    # Nothing answers there: these pages never reach Kick.
    return {
        "KICK_CLIENT_ID": kick_server.CLIENT_ID,
        "KICK_CLIENT_SECRET": kick_server.CLIENT_SECRET,
        "KICK_OAUTH_BASE_URL": "http://127.0.0.1:9",
    }


def _pages(site) -> dict[str, str]:  # type: ignore[no-untyped-def]
    runtime = site.runtime
    link = runtime.linking.start_link(GUILD, MEMBER)
    old = new_claims("kick-viewer", MEMBER, GUILD, runtime.clock() - runtime.linking.link_lifetime)
    expired = signed_link(site.url, "/auth/kick", runtime.link_secret, old)
    return {
        "Link your Kick account": urlsplit(link)
        ._replace(netloc=urlsplit(site.url).netloc)
        .geturl(),
        "Link not valid": f"{site.url}/auth/kick?guild={GUILD}",
        "Not linked": expired,
        "Nothing was connected": f"{site.url}/auth/kick/callback?state=nosuchstate&code=x",
    }


def test_every_sign_in_page_passes_axe_and_fits_a_phone(page, site):
    axe = Axe()
    problems = []
    for width in (360, 1366):
        page.set_viewport_size({"width": width, "height": 800})
        for heading, url in _pages(site).items():
            page.goto(url)
            assert page.locator("main h1").inner_text() == heading
            assert page.title() == f"{heading} - StreamKeeper"
            wider = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if wider > 0:
                problems.append(f"{heading} at {width} px: {wider} px wider than the screen")
            for violation in axe.run(page).response["violations"]:
                problems.append(f"{heading} at {width} px: axe {violation['id']}")
    assert not problems, "\n".join(problems)
    page.goto(_pages(site)["Link your Kick account"])
    assert page.get_by_role("button", name="Continue to Kick").is_visible()
