"""Kick and Twitch connected from the browser (issue 27, item 2), on a real Runtime wired to the
fake Kick and the fake Twitch over loopback: a channel typed on the page is looked up and stored
as !twitch setup / !kick setup store it, the browser goes on to the same signed link the commands
send and through the platform's consent, and the page then says who is connected; refusals are
shown by the field; Twitch's missing permissions offer a new consent; disconnect asks first (the
form says so) and gives the tokens back."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from core.features.connections.kick.subscriptions import OTHER_ACCOUNT_PROBLEM, SyncReport
from core.platforms.http import tls_context
from core.web.dashboard.connection_words import kick_sync_words
from tests.fakes.twitch_runtime import REDIRECT_URI
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD, post
from tests.web.dashboard.test_overview_sync import clock as clock
from tests.web.dashboard.test_overview_sync import kick as kick
from tests.web.dashboard.test_overview_sync import site as site
from tests.web.dashboard.test_overview_sync import twitch as twitch

PAGE = f"/dashboard/{GUILD}/connections/"


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def through_twitch(client, link: str):  # type: ignore[no-untyped-def]
    """The browser on the signed link: its page, its button, Twitch's consent, the callback."""
    assert client.get(local(link)).status_code == 200
    started = client.post(local(link))
    assert started.status_code == 303, started.text
    consent = httpx.get(started.headers["Location"], follow_redirects=False, verify=tls_context())
    assert consent.headers["location"].startswith(f"{REDIRECT_URI}?")
    return client.get(local(consent.headers["location"]))


def test_twitch_is_connected_from_the_page(site, twitch):
    client = site.client()
    page = client.get(PAGE).text
    assert 'id="connect-twitch"' in page
    assert '<dd id="twitch-state">not connected</dd>' in page

    answer = post(client, PAGE + "twitch/connect", twitch="TwitchDev")
    assert answer.status_code == 303
    assert "/auth/twitch/streamer?" in answer.headers["Location"]
    assert site.runtime.guilds.twitch_channel_of(GUILD).channel_slug == "twitchdev"

    done = through_twitch(client, answer.headers["Location"])
    assert "Twitch channel connected" in done.text
    page = client.get(PAGE).text
    assert '<dd id="twitch-state">connected as twitchdev</dd>' in page
    assert 'id="disconnect-twitch"' in page
    assert "data-confirm=" in page[page.index("twitch/disconnect") - 300 :]

    post(client, PAGE + "twitch/disconnect")
    assert (
        "Twitch disconnected. The streamer&#39;s tokens were given back to Twitch and forgotten."
    ) in client.get(PAGE).text
    assert not site.runtime.twitch_connections.status(GUILD).is_connected
    post(client, PAGE + "twitch/disconnect")
    assert "This server had no Twitch connection." in client.get(PAGE).text


def test_disconnect_while_twitch_is_down_says_the_tokens_were_not_given_back(site, twitch):
    """Forgotten all the same; the notice says where the streamer can finish the job."""
    client = site.client()
    answer = post(client, PAGE + "twitch/connect", twitch="TwitchDev")
    through_twitch(client, answer.headers["Location"])
    twitch.fail_next("/oauth2/revoke", 503, times=10)  # each is tried again

    post(client, PAGE + "twitch/disconnect")

    assert (
        "Twitch disconnected. Twitch could not be reached to take the streamer&#39;s tokens "
        "back; they are forgotten here all the same, and the streamer may revoke the app in "
        "their Twitch settings."
    ) in client.get(PAGE).text
    assert not site.runtime.twitch_connections.status(GUILD).is_connected


def test_refusals_are_shown_by_the_field_and_store_nothing(site, twitch):
    client = site.client()
    nothing = post(client, PAGE + "twitch/connect", twitch="  ")
    assert nothing.status_code == 400
    assert "Type the channel&#39;s name" in nothing.text
    unknown = post(client, PAGE + "twitch/connect", twitch="nobody_by_that_name")
    assert unknown.status_code == 400
    assert "Twitch has no channel called" in unknown.text
    bad = post(client, PAGE + "twitch/connect", twitch="not a login!")
    assert bad.status_code == 400
    assert "A Twitch channel is its login" in bad.text
    assert site.runtime.guilds.twitch_channel_of(GUILD) is None


def test_kick_setup_from_the_page_sends_the_browser_to_the_streamer_link(site, kick):
    client = site.client()
    answer = post(client, PAGE + "kick/connect", kick="kick.com/streamer")
    assert answer.status_code == 303
    assert "/auth/kick/streamer?" in answer.headers["Location"]
    assert site.runtime.guilds.kick_channel_of(GUILD).channel_slug == "streamer"
    assert '<dd id="kick-channel">streamer</dd>' in client.get(PAGE).text


def through_kick(client, link: str):  # type: ignore[no-untyped-def]
    """The browser on Kick's signed link: its page, its button, Kick's consent, the callback."""
    assert client.get(local(link)).status_code == 200
    started = client.post(local(link))
    assert started.status_code == 303, started.text
    consent = httpx.get(started.headers["Location"], follow_redirects=False, verify=tls_context())
    assert "/auth/kick/callback?" in consent.headers["location"]
    return client.get(local(consent.headers["location"]))


def test_another_kick_channel_disconnects_the_old_streamer_and_the_page_says_what_next(site, kick):
    client = site.client()
    answer = post(client, PAGE + "kick/connect", kick="streamer")
    assert "Kick channel connected" in through_kick(client, answer.headers["Location"]).text
    assert '<dd id="kick-state">connected as streamer</dd>' in client.get(PAGE).text
    kick.add_channel("other", 2002)

    switched = post(client, PAGE + "kick/connect", kick="other")

    assert "/auth/kick/streamer?" in switched.headers["Location"]
    assert not site.runtime.kick_connections.status(GUILD).is_connected
    page = client.get(PAGE).text
    assert (
        '<dd id="kick-state">not connected: press Connect Kick and sign in to Kick as other</dd>'
    ) in page
    assert "10 missing (connect the streamer first)" in page
    assert 'id="connect-kick">Connect Kick</button>' in page


def test_another_guild_and_a_missing_token_are_refused(site, twitch):
    client = site.client()
    other = post(client, f"/dashboard/{OTHER_GUILD}/connections/twitch/connect", twitch="twitchdev")
    assert other.status_code == 403
    unsigned = client.post(PAGE + "twitch/connect", data={"twitch": "twitchdev"})
    assert unsigned.status_code == 403
    assert site.runtime.guilds.twitch_channel_of(GUILD) is None
    assert site.runtime.guilds.twitch_channel_of(OTHER_GUILD) is None


def test_a_sync_refused_for_another_account_says_who_must_connect() -> None:
    report = SyncReport(7, "1001", problem=OTHER_ACCOUNT_PROBLEM)

    assert kick_sync_words(report) == (
        "The connected Kick account does not own this server's channel, so nothing was "
        "subscribed: connect it on this server's Kick & Twitch page again, signed in to Kick as "
        "the channel's owner."
    )
