"""The overview of a server that removed the bot says so in plain words, with when and that
inviting the bot again resumes; a server the bot is in shows nothing of it; another server's
removal is not shown on this one's page."""

from __future__ import annotations

from tests.web.dashboard.conftest import GUILD, OTHER_GUILD, Site

REMOVED = "The bot was removed from this Discord server on"


def test_the_overview_of_a_server_that_removed_the_bot_says_when_and_how_to_resume(site: Site):
    removed_at = site.runtime.clock()
    site.runtime.guilds.mark_left(GUILD)

    page = site.client().get(f"/dashboard/{GUILD}/")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # On the reader's own clock in a browser (static/local-time.js), in UTC without it.
    assert f'{REMOVED} <time datetime="{removed_at:%Y-%m-%dT%H:%M}' in html
    assert f"{removed_at:%Y-%m-%d %H:%M} UTC</time>." in html
    assert "does not answer chat commands in this server's Kick and Twitch chat" in html
    assert "Invite the bot to the server again</a> to resume everything." in html
    assert "/authorize?client_id=" in html  # the invite link


def test_a_server_the_bot_is_in_shows_no_removal(site: Site):
    site.runtime.guilds.mark_left(OTHER_GUILD)  # another server's removal

    html = site.client().get(f"/dashboard/{GUILD}/").get_data(as_text=True)

    assert REMOVED not in html


def test_the_bot_invited_again_clears_the_notice(site: Site):
    site.runtime.guilds.mark_left(GUILD)
    site.runtime.guilds.mark_back(GUILD)

    html = site.client().get(f"/dashboard/{GUILD}/").get_data(as_text=True)

    assert REMOVED not in html
