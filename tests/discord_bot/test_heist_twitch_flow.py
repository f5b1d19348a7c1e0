"""The heist through Twitch chat, on a real Runtime wired to the fake Twitch (127.0.0.1) and
telling time by the test's clock: the tiers come from signed EventSub webhooks into the real
tier record (channel.chat.notification sub with ``is_prime``, channel.subscribe tier 1000,
channel.subscription.message tier 3000) and, for one badge-wearer without a record, from the
batched Helix lookup with the connected streamer's token before the window closes. Signed
`channel.chat.message` webhooks of `!join 200 low` from each and a non-subscriber, the window
closes, the result in Twitch chat and on Discord, balances exact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import discord
import discord.ext.test as dpytest
import httpx
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from core.events import Platform
from core.features.connections.twitch.signin import PURPOSE_TWITCH_STREAMER
from core.runtime import Runtime
from core.security.links import new_claims
from tests.discord_bot.fake_discord import member_of, say
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import EVENTSUB_SECRET, REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.features.chat_commands.doubles import RecordingSender
from tests.features.heist.conftest import Draws
from tests.support.clock import Clock
from tests.support.delivery import make_queued_calls, settle

STREAMER = "141981764"  # the fake Twitch's consenting streamer
HELIX_SUBSCRIPTIONS = "/helix/subscriptions"
# chatter id, login, subscriber badge version (None: no badge)
CREW = [
    ("501", "prime_sub", "6"),
    ("502", "tier_one", "12"),
    ("503", "tier_two", "2006"),
    ("504", "tier_three", "3003"),
    ("505", "no_sub", None),
]


@pytest.fixture
def clock() -> Clock:
    return Clock()  # the real time: EventSub signatures must be fresh


@pytest.fixture
def twitch(clock: Clock) -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        yield fake


@pytest.fixture
async def runtime(tmp_path, twitch: FakeTwitch, clock: Clock) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", clock)
    yield runtime
    await runtime.chat_commands.close()
    await runtime.sub_tier_lookup.aclose()  # what the runtime's shutdown hook does
    runtime.discord.detach()
    runtime.close()


@pytest.fixture
async def bot(runtime):
    services = BotServices(
        watchtime=runtime.watchtime,
        guilds=runtime.guilds,
        health=runtime.health,
        heist=runtime.heist,
    )
    bot = create_bot(services)
    await bot._async_setup_hook()
    await bot.load_cogs()
    dpytest.configure(bot, guilds=["Crew"], text_channels=1, voice_channels=0, members=["mod"])
    bot._ready.set()
    runtime.discord.attach(bot)
    yield bot
    await dpytest.empty_queue()


@pytest.fixture
def guild(bot) -> discord.Guild:
    return dpytest.get_config().guilds[0]


@pytest.fixture
async def moderator(guild) -> discord.Member:
    mod = member_of(guild, "mod")
    role = dpytest.backend.make_role(
        "Moderator", guild, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(mod, role)
    return mod


async def connect_streamer(runtime: Runtime, guild_id: int) -> None:
    """The streamer connects Twitch (the fake's consent page), as `!twitch connect` leads to."""
    claims = new_claims(PURPOSE_TWITCH_STREAMER, 777, guild_id, runtime.clock())
    url = runtime.twitch_connections.begin(PURPOSE_TWITCH_STREAMER, claims, "n" * 43)
    answer = await asyncio.to_thread(httpx.get, url, follow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    await runtime.twitch_connections.complete(
        state=query["state"], code=query.get("code"), error=None, browser_nonce="n" * 43
    )


def subscribe_the_crew(twitch: EventSubSender) -> None:
    """What Twitch tells us of the crew's subscriptions: Prime (a chat notification saying
    ``is_prime``), Tier 1 (channel.subscribe) and Tier 3 (a resub message). Tier 2 is not told."""
    sent = [
        twitch.notify(
            "channel.chat.notification", STREAMER, chatter_user_id="501",
            chatter_user_login="prime_sub", chatter_user_name="prime_sub",
            message_id="notice-501", system_message="prime_sub subscribed with Prime.",
        ),
        twitch.notify(
            "channel.subscribe", STREAMER, user_id="502", user_login="tier_one",
            user_name="tier_one", tier="1000", is_gift=False,
        ),
        twitch.notify(
            "channel.subscription.message", STREAMER, user_id="504", user_login="tier_three",
            user_name="tier_three", tier="3000",
        ),
    ]  # fmt: skip
    assert [status for status, _ in sent] == [200, 200, 200]


async def test_a_twitch_crew_of_every_tier_is_paid_by_tier(
    runtime, twitch, guild, moderator, clock
):
    channel = guild.text_channels[0]
    runtime.guilds.set_twitch_channel(guild.id, "streamer", STREAMER)
    await connect_streamer(runtime, guild.id)
    twitch.add_subscriber(STREAMER, "503", "2000")  # only Helix knows tier_two's tier
    chat = RecordingSender()
    runtime.chat_senders[Platform.TWITCH] = lambda: chat
    await say(f"!heistset channel {channel.mention}", moderator)
    while not dpytest.sent_queue.empty():
        dpytest.get_message()
    eventsub = EventSubSender.flask(runtime.create_web_app().test_client(), clock, EVENTSUB_SECRET)

    await asyncio.to_thread(subscribe_the_crew, eventsub)
    await settle(runtime)
    known = runtime.sub_tiers.tiers_of(guild.id, "twitch", [user for user, _, _ in CREW])
    assert {uid: (sub.tier, sub.is_prime) for uid, sub in known.items()} == {
        "501": ("1", True),
        "502": ("1", False),
        "504": ("3", False),
    }

    for user, login, badge in CREW:
        runtime.points.give(guild.id, Platform.TWITCH, user, 1000, actor="test")
        badges = [{"set_id": "subscriber", "id": badge, "info": "6"}] if badge else []
        status, _ = await asyncio.to_thread(
            eventsub.notify,
            "channel.chat.message",
            STREAMER,
            message_id=f"join-{user}",
            chatter_user_id=user,
            chatter_user_login=login,
            chatter_user_name=login,
            message={"text": "!join 200 low", "fragments": []},
            badges=badges,
        )
        assert status == 200
        await settle(runtime)
        clock.advance(5)

    # The lookup job's run before the window closes: one batched call, for tier_two only.
    assert twitch.requests_to(HELIX_SUBSCRIPTIONS) == []  # the joins were not held up
    await runtime.sub_tiers.run_lookups()
    [call] = twitch.requests_to(HELIX_SUBSCRIPTIONS, "GET")
    assert (call.status, call.auth, call.query["user_id"]) == (200, "user", ["503"])
    tier_two = runtime.sub_tiers.tier_of(guild.id, "twitch", "503")
    assert tier_two is not None
    assert (tier_two.tier, tier_two.source) == ("2", "helix")

    clock.advance(120 - 5 * len(CREW) - 1)
    assert await runtime.heist_chat.resolve_due() == []  # one second of the window left
    clock.advance(1)
    runtime.heist.draw = Draws([0.0] * len(CREW))  # everyone gets away
    [result] = await runtime.heist_chat.resolve_due()
    await runtime.heist_chat.post_pending()
    await make_queued_calls(runtime)  # the result's line, through the chat outbox

    assert {m.platform_user_id: m.tier for m in result.crew} == {
        "501": "prime", "502": "1", "503": "2", "504": "3", "505": None,
    }  # fmt: skip
    payouts = {"501": 345, "502": 360, "503": 390, "504": 450, "505": 300}
    for user, expected in payouts.items():
        assert runtime.points.balance(guild.id, Platform.TWITCH, user) == 800 + expected
    assert chat.texts[0].startswith("A heist is being planned!")
    assert chat.texts[-1] == (
        "The vault is open! 5 of 5 got away: @tier_three (+450), @tier_two (+390), "
        "@tier_one (+360), @prime_sub (+345), @no_sub (+300). Total loot: 1,845 points."
    )
    posted = dpytest.get_message()
    assert posted.channel.id == channel.id
    assert "(Prime): +345" in posted.embeds[0].fields[0].value
    assert "(Tier 2): +390" in posted.embeds[0].fields[0].value
