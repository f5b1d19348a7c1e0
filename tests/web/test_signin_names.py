"""A start link's page names whom and where it is for, as the bot last saw them: a viewer's
link the member it links and their server (so someone handed another member's link sees it is
not theirs before pressing the button), a streamer's link the server that gets to act for the
channel. Without a name the bot knows, the page says what it said before."""

from __future__ import annotations

from core.features.directory.repository import Member
from tests.web.test_oauth import (  # the fixtures, too
    GUILD,
    MEMBER,
    browser,
    clock,  # noqa: F401
    kick,  # noqa: F401
    runtime,  # noqa: F401
    streamer_link,
    text,
    viewer_link,
)


def test_a_viewers_start_page_names_the_member_and_the_server(runtime):  # noqa: F811
    runtime.guilds.ensure_guild(GUILD, "Cozy Corner")
    runtime.directory.record_members(GUILD, [Member(MEMBER, "Ana <3")])

    opened = browser(runtime).get(viewer_link(runtime))

    assert opened.status_code == 200
    page = text(opened)
    assert "Ana &lt;3" in page  # escaped, like every name on these pages
    assert "Cozy Corner" in page
    assert "Continue to Kick" in page


def test_a_viewers_start_page_without_known_names_says_what_it_did(runtime):  # noqa: F811
    opened = browser(runtime).get(viewer_link(runtime))

    assert opened.status_code == 200
    assert "Continue only if you asked for it yourself" in text(opened)


def test_a_streamers_start_page_names_the_server(runtime):  # noqa: F811
    link = streamer_link(runtime)
    runtime.guilds.ensure_guild(GUILD, "Cozy Corner")

    opened = browser(runtime).get(link)

    assert opened.status_code == 200
    assert "Kick channel streamer in the Discord server Cozy Corner" in text(opened)
