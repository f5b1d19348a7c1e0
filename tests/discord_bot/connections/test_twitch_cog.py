"""!twitch setup, status, sync and disconnect (and !health's Twitch lines) on dpytest's fake
Discord, backed by a real Runtime that talks to the fake Twitch on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import discord
import httpx
import pytest

from core.discord_bot.services import BotServices
from core.events import Platform, RewardRedeemed, Viewer
from core.features.connections.twitch.subscriptions import WANTED_TYPES
from core.features.vip.rules import RuleAsked
from core.platforms.http import tls_context
from core.runtime import Runtime
from tests.discord_bot.fake_discord import say
from tests.fakes.twitch_runtime import BOT_URL, EVENTSUB_SECRET
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch
from tests.support.delivery import make_queued_calls

LINK_START = f"{BOT_URL}/auth/twitch/streamer?"
OK = "\N{WHITE HEAVY CHECK MARK}"
WARN = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"


@pytest.fixture
def fake_twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch() as fake:
        yield fake


@pytest.fixture
def runtime(make_runtime: Any, fake_twitch: FakeTwitch) -> Runtime:
    return make_runtime(
        TWITCH_API_BASE_URL=fake_twitch.helix_url,
        TWITCH_OAUTH_BASE_URL=fake_twitch.oauth_url,
        TWITCH_CLIENT_ID=CLIENT_ID,
        TWITCH_CLIENT_SECRET=CLIENT_SECRET,
        TWITCH_EVENTSUB_SECRET=EVENTSUB_SECRET,
        OAUTH_BASE_URL=BOT_URL,
        KICK_PUSHER_ENABLED="false",
    )


@pytest.fixture
def services(runtime: Runtime) -> BotServices:
    return BotServices(
        watchtime=runtime.watchtime,
        guilds=runtime.guilds,
        health=runtime.health,
        twitch_setup=runtime.twitch_setup,
    )


def is_dm(message: discord.Message) -> bool:
    return isinstance(message.channel, discord.DMChannel)


def link_in(text: str) -> str:
    [link] = [word for word in text.split() if word.startswith(LINK_START)]
    return link


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def set_up(manager: discord.Member) -> str:
    replies = await say("!twitch setup twitchdev", manager)
    [reply] = [m for m in replies if not is_dm(m)]
    [dm] = [m for m in replies if is_dm(m)]
    assert "I sent you the link to connect it by DM" in reply.content
    link = link_in(dm.content)
    assert link not in reply.content
    return link


async def connect_streamer(runtime: Runtime, link: str) -> None:
    """The streamer opens the DM'd link, presses its button and consents, in one browser."""
    web = runtime.create_web_app().test_client()
    opened = await asyncio.to_thread(web.get, local(link))
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = await asyncio.to_thread(web.post, local(link))
    assert started.status_code == 303, started.get_data(as_text=True)
    async with httpx.AsyncClient(trust_env=False, verify=tls_context()) as http:
        consent = await http.get(started.headers["Location"], follow_redirects=False)
    answer = await asyncio.to_thread(web.get, local(consent.headers["location"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)


async def test_setup_dms_the_link_and_the_streamer_connects(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime
) -> None:
    link = await set_up(manager)
    assert f"guild={guild_a.id}" in link
    await connect_streamer(runtime, link)

    [reply] = await say("!twitch status", manager)

    assert "twitchdev, connected as twitchdev" in reply.content
    assert f"0/{len(WANTED_TYPES)} subscribed" in reply.content


async def test_an_unknown_channel_gets_a_friendly_reply(manager: discord.Member) -> None:
    [reply] = await say("!twitch setup nobody_here", manager)
    assert reply.content.startswith("Twitch has no channel called 'nobody\\_here'")


async def test_sync_subscribes_and_status_shows_it(
    manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    await connect_streamer(runtime, await set_up(manager))

    [synced] = await say("!twitch sync", manager)
    [reply] = await say("!twitch status", manager)

    assert f"{len(WANTED_TYPES)} created" in synced.content
    assert f"{len(WANTED_TYPES)}/{len(WANTED_TYPES)} subscribed" in reply.content
    assert len(fake_twitch.eventsub) == len(WANTED_TYPES)


async def test_a_dead_grant_is_shown_with_a_new_link_by_dm(
    manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    fake_twitch.revoke_grant()
    await runtime.twitch_connections.validate_all()

    replies = await say("!twitch status", manager)
    [health] = await say("!health", manager)

    [reply] = [m for m in replies if not is_dm(m)]
    [dm] = [m for m in replies if is_dm(m)]
    assert "needs re-authorization" in reply.content
    assert "I sent you a link by DM" in reply.content
    assert link_in(dm.content)
    assert "needs re-authorization" in health.content


async def test_disconnect_revokes_and_forgets(
    manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    tokens = [t for t in fake_twitch.tokens.values() if t.token_type == "user"]

    [reply] = await say("!twitch disconnect", manager)

    assert reply.content == (
        f"{OK} Twitch disconnected. The streamer's tokens were given back to Twitch and "
        "forgotten. The channel stays followed; run !twitch setup to connect again."
    )
    assert all(t.revoked for t in tokens)
    assert not runtime.twitch_connections.status(manager.guild.id).is_connected
    [again] = await say("!twitch disconnect", manager)
    assert again.content == "This server had no Twitch connection."


async def test_disconnect_pauses_the_servers_vip_rewards_and_says_so_by_their_titles(
    manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    asked = RuleAsked(Platform.TWITCH, "reward", 24, title="VIP *for a day*", cost=500)
    rule = await runtime.vip.rules.add(manager.guild.id, asked)

    [reply] = await say("!twitch disconnect", manager)

    assert reply.content.splitlines()[-1] == (
        "VIP rewards paused on Twitch until the streamer connects Twitch here again: "
        "'VIP \\*for a day\\*'."
    )
    assert fake_twitch.rewards[rule.reward_id]["is_paused"]


async def test_disconnect_while_twitch_is_down_forgets_and_says_where_to_revoke(
    manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    """The tokens are forgotten all the same; the admin is not told they were given back."""
    await connect_streamer(runtime, await set_up(manager))
    fake_twitch.fail_next("/oauth2/revoke", 503, times=10)  # each is tried again

    [reply] = await say("!twitch disconnect", manager)

    assert reply.content == (
        f"{WARN} Twitch disconnected. Twitch could not be reached to take the streamer's tokens "
        "back; they are forgotten here all the same, and the streamer may revoke the app in "
        "their Twitch settings. The channel stays followed; run !twitch setup to connect again."
    )
    assert not runtime.twitch_connections.status(manager.guild.id).is_connected


async def test_setup_of_another_channel_says_the_old_streamer_was_disconnected(
    manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    await connect_streamer(runtime, await set_up(manager))
    fake_twitch.add_user("555", "other_channel")
    fake_twitch.fail_next("/oauth2/revoke", 400, times=2, body={"message": "Invalid token"})

    replies = await say("!twitch setup other_channel", manager)

    [reply] = [m for m in replies if not is_dm(m)]
    assert reply.content.endswith(
        f"\n{WARN} I disconnected the Twitch account twitchdev, connected for the channel "
        "before. Twitch did not take the streamer's tokens back; they are forgotten here all "
        "the same, and the streamer may revoke the app in their Twitch settings. No events "
        "come from other\\_channel until its owner opens the link and signs in to Twitch as "
        "other\\_channel."
    )
    assert not runtime.twitch_connections.status(manager.guild.id).is_connected


async def test_a_redemption_waits_while_the_grant_is_dead_and_is_granted_on_the_new_consent(
    guild_a: discord.Guild, manager: discord.Member, runtime: Runtime, fake_twitch: FakeTwitch
) -> None:
    """``!twitch status`` counts the VIP redemption that waits for the streamer; their consent
    through the web's callback queues the catch-up, which grants it at once."""
    await connect_streamer(runtime, await set_up(manager))
    fake_twitch.add_user("5000", "viewer")
    reward = (await runtime.vip.setup(guild_a.id, manager.id, "VIP for a day", 500, 24)).reward
    fake_twitch.revoke_grant()
    await runtime.twitch_connections.validate_all()
    redemption_id = fake_twitch.add_redemption(reward.id, "5000")
    await runtime.vip.queued.handle(
        guild_a.id,
        RewardRedeemed(
            platform=Platform.TWITCH,
            event_id=f"{redemption_id}:unfulfilled",
            redemption_id=redemption_id,
            broadcaster_user_id=fake_twitch.consenting_user_id,
            occurred_at=runtime.clock(),
            viewer=Viewer("5000", "Viewer"),
            reward_id=reward.id,
            reward_title=reward.title,
            cost=reward.cost,
            status="unfulfilled",
        ),
    )
    await make_queued_calls(runtime)

    replies = await say("!twitch status", manager)
    [reply] = [m for m in replies if not is_dm(m)]
    [dm] = [m for m in replies if is_dm(m)]
    assert "1 redemption of the VIP reward waits for the streamer to connect again" in reply.content
    assert fake_twitch.redemptions[redemption_id]["status"] == "UNFULFILLED"

    await connect_streamer(runtime, link_in(dm.content))
    await make_queued_calls(runtime)

    assert fake_twitch.redemptions[redemption_id]["status"] == "FULFILLED"
    assert fake_twitch.channels[fake_twitch.consenting_user_id].vips == ["5000"]
    [reply] = await say("!twitch status", manager)
    assert "VIP reward" not in reply.content
