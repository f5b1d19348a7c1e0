"""The heist through Twitch chat: signed `channel.chat.message` webhooks of `!join 200 low` from
subscribers of each tier (Prime said by a source) and a non-subscriber, the window closes, the
result in Twitch chat and on Discord, balances exact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from core.events import Platform
from core.runtime import Runtime
from tests.clock import Clock
from tests.discord_bot.fake_discord import member_of, say
from tests.fakes.twitch_eventsub import SECRET, EventSubSender
from tests.features.chat_commands.doubles import RecordingSender
from tests.features.heist.conftest import Draws, FakeSubTiers

STREAMER = "1971641"
# chatter id, login, tier (None: no subscription), is_prime, subscriber badge version
CREW = [
    ("501", "prime_sub", "1", True, "6"),
    ("502", "tier_one", "1", False, "12"),
    ("503", "tier_two", "2", False, "2006"),
    ("504", "tier_three", "3", False, "3003"),
    ("505", "no_sub", None, False, None),
]


@pytest.fixture
async def runtime(make_runtime) -> AsyncIterator[Runtime]:
    runtime = make_runtime(TWITCH_EVENTSUB_SECRET=SECRET)
    yield runtime
    await runtime.chat_commands.close()
    runtime.discord.detach()


@pytest.fixture
async def bot(runtime):
    services = BotServices(runtime.watchtime, runtime.guilds, runtime.health, heist=runtime.heist)
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


async def settle(runtime: Runtime) -> None:
    while await asyncio.to_thread(runtime.bus.backlog):
        await runtime.bus.deliver_due(runtime.dispatcher)
    await runtime.chat_commands.flush()


async def test_a_twitch_crew_of_every_tier_is_paid_by_tier(runtime, guild, moderator):
    channel = guild.text_channels[0]
    runtime.guilds.set_twitch_channel(guild.id, "streamer", STREAMER)
    chat = RecordingSender()
    runtime.chat_senders[Platform.TWITCH] = lambda: chat
    clock = Clock()
    runtime.heist.clock = clock  # the heist's window runs on a clock the test moves
    tiers = FakeSubTiers()
    runtime.heist.sub_tiers = tiers
    await say(f"!heistset channel {channel.mention}", moderator)
    while not dpytest.sent_queue.empty():
        dpytest.get_message()
    twitch = EventSubSender.flask(runtime.create_web_app().test_client(), lambda: datetime.now(UTC))
    for user, login, tier, is_prime, badge in CREW:
        runtime.points.give(guild.id, Platform.TWITCH, user, 1000, actor="test")
        if tier is not None and user != "503":  # tier 2 is learned by the lookup, below
            tiers.set(user, tier, is_prime=is_prime)
        badges = [{"set_id": "subscriber", "id": badge, "info": "6"}] if badge else []
        status, _ = await asyncio.to_thread(
            twitch.notify,
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

    assert tiers.lookups == [(guild.id, Platform.TWITCH, ["503"])]
    tiers.set("503", "2")  # Helix answered before the window closed
    clock.advance(120)
    runtime.heist.draw = Draws([0.0] * len(CREW))  # everyone gets away
    await runtime.heist_chat.resolve_due()

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
