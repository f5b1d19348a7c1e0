"""A thread set for the bot's posts by a Discord command shows on the dashboard's channel
pickers by its name and its channel's and is offered when the bot may post there; an id the
directory cannot name is not called "not in the server"."""

from __future__ import annotations

from core.features.directory.repository import Channel, Server
from core.features.directory.service import Snapshot
from tests.web.dashboard.conftest import GUILD, post

PAGE = f"/dashboard/{GUILD}/heist/"
GENERAL = 444000000000000001  # a channel of GUILD
GIVEAWAYS = GENERAL + 1  # a thread of it
CLOSED = GENERAL + 2  # an archived one


def _server(site) -> None:
    site.runtime.directory.record_server(
        Snapshot(
            Server(GUILD, "Managed", None, True),
            (),
            (
                Channel(GENERAL, "general", "text", 0, can_post=True),
                Channel(GIVEAWAYS, "general \u203a Giveaways", "thread", 0, can_post=True),
                Channel(CLOSED, "general \u203a Old news", "thread", 0, can_post=False),
            ),
        )
    )


def test_a_thread_is_offered_by_name_and_can_be_picked(site):
    _server(site)
    client = site.client()
    page = client.get(PAGE).text
    assert f'<option value="{GIVEAWAYS}">#general \u203a Giveaways</option>' in page
    assert f'value="{CLOSED}"' not in page  # archived: the bot can't post there

    assert post(client, PAGE + "settings/results", channel=str(GIVEAWAYS)).status_code == 302
    assert site.runtime.heist.rules(GUILD).channel_id == GIVEAWAYS


def test_a_thread_set_in_discord_shows_by_name_and_stays_selected(site):
    _server(site)
    site.runtime.heist.set_setting(GUILD, "channel", str(GIVEAWAYS))
    page = site.client().get(PAGE).text
    assert f'<option value="{GIVEAWAYS}" selected>#general \u203a Giveaways</option>' in page
    assert "not in the server" not in page


def test_an_id_the_directory_cannot_name_says_what_it_may_be(site):
    """discord.py forgets a thread once it is archived, so a thread set in Discord and archived
    since is as unknown as a deleted channel: the picker says it may be either."""
    _server(site)
    gone = GENERAL + 9
    site.runtime.heist.set_setting(GUILD, "channel", str(gone))
    page = site.client().get(PAGE).text
    assert "not in the server" not in page
    assert (
        f'<option value="{gone}" selected>{gone} (I can&#39;t find it: deleted, or a thread '
        "that was archived)</option>"
    ) in page
