"""The whole heist path on Kick: signed `!join 200 low` webhooks from the fake Kick, through the
web app, the bus, the chat router and the heist service; the window closes; the result in the
fake Kick's chat and as an embed on dpytest's Discord; balances exact."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from core.events import Platform
from core.runtime import Runtime
from tests.clock import Clock
from tests.conftest import FIXTURES
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.test_slot_call_flow import connect_streamer, discord_messages, settle
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.features.heist.conftest import Draws, FakeSubTiers

STREAMER_ID = 1001


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kick(clock):
    with FakeKick(clock=clock, username="streamer", user_id=STREAMER_ID) as fake:
        yield fake


@pytest.fixture
async def runtime(tmp_path, kick, clock) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_kick(kick, tmp_path / "data", clock, FLASK_SECRET_KEY="heist-flow")
    yield runtime
    await runtime.chat_commands.close()
    await runtime.kick.close_chat()
    runtime.discord.detach()
    runtime.close()


@pytest.fixture
async def bot(runtime):
    services = BotServices(runtime.watchtime, runtime.guilds, runtime.health, runtime.kick_setup,
                           heist=runtime.heist)  # fmt: skip
    bot = create_bot(services)
    await bot._async_setup_hook()
    await bot.load_cogs()
    dpytest.configure(
        bot, guilds=["Heist Fans"], text_channels=1, voice_channels=0, members=["mod"]
    )
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


def join_payload(user_id: int, name: str, badges: list[str], said_at: datetime) -> dict:
    payload = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["broadcaster"]["user_id"] = STREAMER_ID
    payload["sender"].update(user_id=user_id, username=name)
    payload["sender"]["identity"]["badges"] = [{"type": b, "text": b.title()} for b in badges]
    payload.update(content="!join 200 low", message_id=f"join-{user_id}")
    payload["created_at"] = said_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


async def test_a_kick_crew_joins_from_chat_and_is_paid_by_tier(
    runtime, kick, guild, moderator, clock
):
    channel = guild.text_channels[0]
    result = await runtime.kick_setup.setup(guild.id, moderator.id, "streamer")
    await asyncio.to_thread(
        connect_streamer, runtime.create_web_app().test_client(), result.connect_link
    )
    await say(f"!heistset channel {channel.mention}", moderator)
    discord_messages()
    tiers = FakeSubTiers()
    tiers.set("42", "1", platform=Platform.KICK)  # a Kick subscriber is Tier 1
    runtime.heist.sub_tiers = tiers
    for user in ("42", "43"):
        runtime.points.give(guild.id, Platform.KICK, user, 1000, actor="test")

    server = runtime.start_web_server()
    try:
        for n, (user, name, badges) in enumerate(
            [(42, "subscriber_k", ["subscriber"]), (43, "plain_k", [])]
        ):
            await kick.send_webhook_async(
                f"{server.url}/webhooks/kick",
                "chat.message.sent",
                join_payload(user, name, badges, clock.now),
                message_id=f"01JHEISTFLOW00000000000{n}",
            )
        await settle(runtime)
    finally:
        server.close()

    clock.advance(120)
    runtime.heist.draw = Draws([0.0, 0.0])  # both get away
    await runtime.heist_chat.resolve_due()
    await runtime.kick.chat.flush()

    replies = [m.content for m in kick.chat_messages]
    assert replies[0].startswith("A heist is being planned! You are in with 200 points (low risk)")
    assert replies[1] == "You are in with 200 points (low risk): 2 in the crew, 120 s left to join."
    assert replies[2] == (
        "The vault is open! 2 of 2 got away: @subscriber_k (+360), @plain_k (+300). "
        "Total loot: 660 points."
    )
    [posted] = discord_messages()
    assert posted.channel.id == channel.id
    assert "subscriber\\_k** (Tier 1): +360" in posted.embeds[0].fields[0].value
    assert runtime.points.balance(guild.id, Platform.KICK, "42") == 1160
    assert runtime.points.balance(guild.id, Platform.KICK, "43") == 1100
