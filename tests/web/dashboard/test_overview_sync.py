"""The overview's Sync buttons: ``!kick sync`` and ``!twitch sync`` from the dashboard, on a real
Runtime wired to the fake Kick and the fake Twitch over loopback; the reply (or the refusal) is
shown on the overview after a redirect; a guild without the platform has no button and its POST
is refused; a POST without the CSRF token and another guild's id answer 403."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.features.connections.twitch.signin import PURPOSE_TWITCH_STREAMER
from core.features.connections.twitch.subscriptions import WANTED_TYPES, TwitchSyncReport
from core.platforms.http import tls_context
from core.security.links import new_claims
from core.web.dashboard.connection_words import twitch_sync_words
from core.web.dashboard.platform_sync import PlatformSync
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, Site, post
from tests.web.dashboard.conftest import discord as discord

BROADCASTER = "141981764"  # the fake Twitch's twitchdev
NONCE = "n" * 43


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock) -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        yield fake


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick() as fake:
        yield fake


@pytest.fixture
def site(tmp_path, discord, twitch, kick, clock) -> Iterator[Site]:
    runtime = runtime_on_fake_twitch(
        twitch,
        tmp_path / "data",
        clock,
        KICK_API_BASE_URL=kick.url,
        KICK_OAUTH_BASE_URL=kick.url,
        KICK_SITE_BASE_URL=kick.url,
        KICK_CLIENT_ID=kick.client_id,
        KICK_CLIENT_SECRET=kick.client_secret,
        KICK_WEBHOOK_PUBLIC_KEY=kick.public_key_pem,
        DISCORD_CLIENT_ID=CLIENT_ID,
        DISCORD_CLIENT_SECRET=CLIENT_SECRET,
        DISCORD_API_BASE_URL=discord.api_base_url,
        DISCORD_OAUTH_BASE_URL=discord.oauth_base_url,
    )
    runtime.guilds.ensure_guild(GUILD, "Managed")
    runtime.guilds.ensure_guild(OTHER_GUILD, "Other")
    from core.web.app import create_app

    app = create_app(runtime.web_services())
    try:
        yield Site(runtime, app, discord)
    finally:
        runtime.close()


def connect_twitch(site: Site) -> None:
    """``!twitch setup twitchdev`` and the streamer's consent on the fake Twitch."""
    runtime = site.runtime
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    claims = new_claims(PURPOSE_TWITCH_STREAMER, ADMIN, GUILD, runtime.clock())
    answer = httpx.get(
        runtime.twitch_connections.begin(PURPOSE_TWITCH_STREAMER, claims, NONCE),
        follow_redirects=False,
        verify=tls_context(),
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    asyncio.run(
        runtime.twitch_connections.complete(
            state=query["state"], code=query.get("code"), error=None, browser_nonce=NONCE
        )
    )


def test_no_buttons_for_a_guild_without_kick_or_twitch(site):
    page = site.client().get(f"/dashboard/{GUILD}/")
    assert page.status_code == 200
    assert "Sync Kick" not in page.text
    assert "Sync Twitch" not in page.text


@pytest.mark.parametrize("platform", ["kick", "twitch"])
def test_a_sync_of_a_platform_the_guild_has_not_set_up_is_refused(site, platform):
    answer = post(site.client(), f"/dashboard/{GUILD}/sync/{platform}")
    assert answer.status_code == 400
    assert "choose it on the Kick &amp; Twitch page first" in answer.text


def test_an_unknown_platform_is_not_found(site):
    assert post(site.client(), f"/dashboard/{GUILD}/sync/youtube").status_code == 404


def test_sync_twitch_subscribes_on_the_fake_twitch_and_says_so(site, twitch):
    connect_twitch(site)
    client = site.client()
    page = client.get(f"/dashboard/{GUILD}/")
    assert "Sync Twitch" in page.text
    assert "Sync Kick" not in page.text

    answer = post(client, f"/dashboard/{GUILD}/sync/twitch")

    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"/dashboard/{GUILD}/")
    assert sorted(s["type"] for s in twitch.eventsub.values()) == sorted(WANTED_TYPES)
    shown = client.get(f"/dashboard/{GUILD}/").text
    assert f"Twitch subscriptions: 0 kept, {len(WANTED_TYPES)} created, 0 removed." in shown
    assert "\u2705" not in shown  # the bot's emoji mark: the words say it on the web

    # Shown once: the reply does not stay on the overview.
    assert "Twitch subscriptions:" not in client.get(f"/dashboard/{GUILD}/").text

    post(client, f"/dashboard/{GUILD}/sync/twitch")
    again = client.get(f"/dashboard/{GUILD}/").text
    assert f"Twitch subscriptions: {len(WANTED_TYPES)} kept, 0 created, 0 removed." in again
    assert len(twitch.eventsub) == len(WANTED_TYPES)


def test_a_refused_twitch_sync_is_shown_on_the_overview(site):
    # A channel set up, but the streamer never connected: !twitch sync refuses.
    site.runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    client = site.client()

    answer = post(client, f"/dashboard/{GUILD}/sync/twitch")

    assert answer.status_code == 303
    shown = client.get(f"/dashboard/{GUILD}/").text
    assert "This server has no working Twitch connection: connect the streamer first" in shown


def test_sync_kick_answers_what_kick_sync_answers(site, kick):
    site.runtime.guilds.set_kick_channel(GUILD, "streamer", "1001")
    client = site.client()
    assert "Sync Kick" in client.get(f"/dashboard/{GUILD}/").text

    answer = post(client, f"/dashboard/{GUILD}/sync/kick")

    assert answer.status_code == 303
    shown = client.get(f"/dashboard/{GUILD}/").text
    assert "Kick account is not connected yet: connect it on this server" in shown
    assert "!kick" not in shown  # the browser's words, not the bot's commands


def test_a_sync_without_the_csrf_token_is_refused(site, twitch):
    connect_twitch(site)
    answer = site.client().post(f"/dashboard/{GUILD}/sync/twitch")
    assert answer.status_code == 403
    assert twitch.eventsub == {}


def test_another_guilds_sync_is_refused(site, twitch):
    site.runtime.guilds.set_twitch_channel(OTHER_GUILD, "twitchdev", BROADCASTER)
    answer = post(site.client(), f"/dashboard/{OTHER_GUILD}/sync/twitch")
    assert answer.status_code == 403
    assert site.client().get(f"/dashboard/{OTHER_GUILD}/").status_code == 403


def test_a_sync_reply_of_many_lines_reads_as_lines_without_discord_escapes(site):
    """What Sync Twitch says when subscriptions failed (a line per failure) reads as plain
    lines on the overview, with no Discord escapes (channel_points, not channel\\_points)."""
    failed = {
        "channel.channel_points_custom_reward_redemption.add": "missing scope "
        "channel:read:redemptions",
        "channel.subscription.gift": "missing scope channel:read:subscriptions",
    }
    report = TwitchSyncReport(GUILD, kept=["stream.online"], failed=failed)

    async def sync(guild_id: int) -> str:
        return twitch_sync_words(report)

    dash = site.dashboard
    syncs = {"twitch": PlatformSync("Twitch", lambda guild_id: True, sync)}
    dash.config = replace(dash.config, platform_syncs=syncs)
    client = site.client()
    post(client, f"/dashboard/{GUILD}/sync/twitch")
    shown = client.get(f"/dashboard/{GUILD}/").text
    result = shown[shown.index('class="notice sync-result"') :]
    result = result[: result.index("</div>")]
    assert "\\_" not in result  # channel_points, not channel\_points
    assert result.count("<p>") == 3  # a paragraph a line, not one run-on paragraph
    assert (
        "<p>channel.channel_points_custom_reward_redemption.add failed: missing scope "
        "channel:read:redemptions</p>" in result
    )
