"""How long a sign-in may take in the browser that started it. The browser-binding cookie is set
when the start link is opened and lasts 10 minutes, as the state made when its button is
pressed does: a member who reads the page a while, then signs in to Kick for a few minutes,
comes back with both. A browser is modelled here as a real one keeps a cookie: until its
``Max-Age``, on the test's clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from core.web.connections.pages import BROWSER_COOKIE, BROWSER_COOKIE_PATH
from tests.support.clock import Clock
from tests.web.test_oauth import (  # the fixtures, too
    MEMBER,
    VIEWER_ID,
    browser,
    clock,  # noqa: F401
    consent,
    kick,  # noqa: F401
    runtime,  # noqa: F401
    stored_links,
    text,
    viewer_link,
)

MAX_AGE = re.compile(r"Max-Age=(\d+)")


class CookieKeepingBrowser:
    """The test client, dropping the binding cookie once its ``Max-Age`` has passed."""

    def __init__(self, client, test_clock: Clock) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.clock = test_clock
        self.cookie_until: datetime | None = None

    def open(self, url: str, method: str = "GET"):  # type: ignore[no-untyped-def]
        if self.cookie_until is not None and self.clock() >= self.cookie_until:
            self.client.delete_cookie(BROWSER_COOKIE, path=BROWSER_COOKIE_PATH)
            self.cookie_until = None
        answer = self.client.open(url, method=method)
        for header in answer.headers.getlist("Set-Cookie"):
            found = MAX_AGE.search(header)
            if header.startswith(f"{BROWSER_COOKIE}=") and found:
                self.cookie_until = self.clock() + timedelta(seconds=int(found.group(1)))
        return answer


def test_a_member_who_reads_the_page_then_signs_in_to_kick_slowly_is_linked(
    runtime,  # noqa: F811
    kick,  # noqa: F811
    clock,  # noqa: F811
):
    kick.consenting_user_id = VIEWER_ID
    web = CookieKeepingBrowser(browser(runtime), clock)
    link = viewer_link(runtime)
    assert web.open(link).status_code == 200
    clock.advance(minutes=5)  # reading the page
    started = web.open(link, "POST")
    assert started.status_code == 303
    clock.advance(minutes=7)  # signing in to Kick: within the state's 10 minutes
    callback = consent(started.headers["Location"])

    answer = web.open(callback)

    assert answer.status_code == 200, text(answer)
    assert "now linked to viewer_one" in text(answer)
    assert [row.discord_user_id for row in stored_links(runtime)] == [MEMBER]


def test_the_button_keeps_the_cookie_it_was_pressed_with(runtime):  # noqa: F811
    client = browser(runtime)
    link = viewer_link(runtime)
    client.get(link)
    nonce = client.get_cookie(BROWSER_COOKIE, path=BROWSER_COOKIE_PATH).value

    started = client.post(link)

    assert started.status_code == 303
    assert client.get_cookie(BROWSER_COOKIE, path=BROWSER_COOKIE_PATH).value == nonce


def test_a_start_page_left_open_too_long_says_so_and_the_link_still_works(
    runtime,  # noqa: F811
    clock,  # noqa: F811
):
    web = CookieKeepingBrowser(browser(runtime), clock)
    link = viewer_link(runtime)
    assert web.open(link).status_code == 200
    clock.advance(minutes=11)  # the page left open in a tab

    refused = web.open(link, "POST")

    assert refused.status_code == 403
    assert "This page was open more than 10 minutes" in text(refused)
    assert "Open the link from Discord again" in text(refused)
    assert web.open(link).status_code == 200
    assert web.open(link, "POST").status_code == 303  # the link was not used up
