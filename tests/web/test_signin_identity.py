"""Whom Kick says signed in must have a name to show: a users answer whose name is empty or
blank links nobody (a link named "" read "linked to  on Kick" on the page and "****" in the DM),
and the member is told in words. Twitch's side is in test_twitch_viewer_link.py."""

from __future__ import annotations

import pytest

from tests.web.test_oauth import (  # the fixtures, too
    VIEWER_ID,
    browser,
    clock,  # noqa: F401
    consent,
    kick,  # noqa: F401
    runtime,  # noqa: F401
    start,
    stored_links,
    text,
    viewer_link,
)

BLANK = ["", "   ", "\u200b\u200b"]


@pytest.mark.parametrize("name", BLANK)
def test_a_kick_user_without_a_name_links_nobody(runtime, kick, name):  # noqa: F811
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    callback = consent(start(web, viewer_link(runtime)))
    kick.fail_next("/public/v1/users", 200, body={"data": [{"user_id": VIEWER_ID, "name": name}]})

    answer = web.get(callback)

    assert answer.status_code == 502
    assert "Kick did not say who signed in" in text(answer)
    assert stored_links(runtime) == []
