"""A channel the bot cannot post its embeds in (no Send Messages or no Embed Links: slot calls,
heist results and link log entries are embeds) is left out of the dashboard's pickers; a setting
that names one, and a form posting one by hand, say which permissions would let the bot post."""

from __future__ import annotations

from core.features.directory.repository import Channel, Server
from core.features.directory.service import Snapshot
from tests.web.dashboard.conftest import GUILD, post

PAGE = f"/dashboard/{GUILD}/slot-calls/"
CALLS = 556000000000000001  # a channel of GUILD the bot may post in
NO_EMBEDS = CALLS + 1  # one where it may send messages but not embed links
THREAD = CALLS + 2  # a thread the bot may not post in


def _server(site) -> None:
    site.runtime.directory.record_server(
        Snapshot(
            Server(GUILD, "Managed", None, True),
            (),
            (
                Channel(CALLS, "slot-calls", "text", 0, can_post=True),
                Channel(NO_EMBEDS, "chat", "text", 1, can_post=False),
                Channel(THREAD, "chat \u203a Calls", "thread", 1, can_post=False),
            ),
        )
    )


def test_a_kept_channel_the_bot_cannot_post_in_names_the_permissions(site):
    _server(site)
    site.runtime.slot_calls.set_channel(GUILD, NO_EMBEDS)
    page = site.client().get(PAGE).text
    assert (
        f'<option value="{NO_EMBEDS}" selected>#chat (I can&#39;t post there now: I need Send '
        "Messages and Embed Links)</option>"
    ) in page


def test_a_channel_posted_by_hand_is_refused_naming_the_permissions(site):
    _server(site)
    client = site.client()

    refused = post(client, PAGE + "settings", cooldown="30", limit="", channel=str(NO_EMBEDS))

    assert refused.status_code == 400
    assert (
        "I can&#39;t post in #chat: give me Send Messages and Embed Links there (my posts are "
        "embeds), or pick another channel."
    ) in refused.text
    assert site.runtime.slot_calls.status(GUILD).settings.channel_id is None


def test_a_thread_posted_by_hand_is_refused_naming_what_may_be_wrong(site):
    _server(site)
    client = site.client()

    refused = post(client, PAGE + "settings", cooldown="30", limit="", channel=str(THREAD))

    assert refused.status_code == 400
    assert (
        "I can&#39;t post in #chat \u203a Calls: the thread is archived or locked, or I need Send "
        "Messages in Threads and Embed Links there (in a private thread, add me to it). Open it "
        "or give me those, or pick another channel."
    ) in refused.text
