"""A sign-in that comes back twice in the browser that started it: a double click on the
platform's consent page, or the result page opened again. The first callback links; the second
is told in words that the sign-in came back already, never that nothing was connected (the
browser shows the later page, while the first one linked)."""

from __future__ import annotations

import threading

from core.web.connections.pages import BROWSER_COOKIE
from tests.web.test_oauth import (  # the fixtures, too
    GUILD,
    MEMBER,
    VIEWER_ID,
    browser,
    clock,  # noqa: F401
    consent,
    discord_calls,
    kick,  # noqa: F401
    runtime,  # noqa: F401
    start,
    stored_connections,
    stored_links,
    streamer_link,
    text,
    viewer_link,
)

ALREADY = "This sign-in came back already"


def test_two_callbacks_at_once_link_once_and_the_other_says_it_came_back_already(
    runtime,  # noqa: F811
    kick,  # noqa: F811
):
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    callback = consent(start(web, viewer_link(runtime)))
    second_tab = browser(runtime)  # the same browser: its cookie
    second_tab.set_cookie(BROWSER_COOKIE, web.get_cookie(BROWSER_COOKIE, path="/auth").value)
    hang = kick.hang_next("/oauth/token", 30)
    first: list = []
    thread = threading.Thread(target=lambda: first.append(web.get(callback)))
    thread.start()
    assert hang.held.wait(10)  # the first callback is at Kick's token endpoint

    second = second_tab.get(callback)
    hang.release()
    thread.join(20)

    assert second.status_code == 409
    assert ALREADY in text(second)
    assert "the bot tells you in Discord whether your accounts were linked" in text(second)
    assert "Nothing was connected" not in text(second)
    [linked] = first
    assert linked.status_code == 200, text(linked)
    assert [(row.platform_user_id, row.discord_user_id) for row in stored_links(runtime)] == [
        (str(VIEWER_ID), MEMBER)
    ]
    # One link's DM, role and log: the second callback told nobody anything.
    assert discord_calls(runtime) == [("linking.linked", "pending")]


def test_the_linked_page_opened_again_says_so_and_changes_nothing(runtime, kick):  # noqa: F811
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    callback = consent(start(web, viewer_link(runtime)))
    assert web.get(callback).status_code == 200

    again = web.get(callback)

    assert again.status_code == 409
    assert "Sign-in already finished" in text(again)
    assert [row.discord_user_id for row in stored_links(runtime)] == [MEMBER]
    assert runtime.linking.history(GUILD, MEMBER)[-1].action == "linked"


def test_a_streamers_page_opened_again_points_to_the_status_command(runtime):  # noqa: F811
    web = browser(runtime)
    callback = consent(start(web, streamer_link(runtime)))
    assert web.get(callback).status_code == 200

    again = web.get(callback)

    assert again.status_code == 409
    assert ALREADY in text(again)
    assert "!kick status in Discord shows whether the channel is connected" in text(again)
    assert len(stored_connections(runtime)) == 1


def test_another_browser_with_a_used_state_hears_nothing_of_it(runtime, kick):  # noqa: F811
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    callback = consent(start(web, viewer_link(runtime)))
    assert web.get(callback).status_code == 200

    elsewhere = browser(runtime).get(callback)

    assert elsewhere.status_code == 400
    assert ALREADY not in text(elsewhere)
    assert "already used or is older than 10 minutes" in text(elsewhere)
