"""The whole heist path on Kick: signed subscription webhooks (new, renewal, gifted) from the fake
Kick give the real tier record its Kick subscribers (Tier 1: Kick has no tiers), then signed
`!join 200 low` webhooks go through the web app, the bus, the chat router and the heist service;
the window closes on the runtime's clock; the result in the fake Kick's chat and as an embed on
dpytest's Discord; balances exact."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from core.events import Platform
from core.runtime import Runtime
from tests.conftest import FIXTURES
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.test_slot_call_flow import connect_streamer, discord_messages, settle
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.features.heist.conftest import Draws
from tests.support.clock import Clock
from tests.support.delivery import make_queued_calls

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
    runtime = runtime_on_fake_kick(
        kick, tmp_path / "data", clock, FLASK_SECRET_KEY="heist-flow-a-key-of-32-characters-or-more"
    )
    yield runtime
    await runtime.chat_commands.close()
    await runtime.kick.close_chat()
    runtime.discord.detach()
    runtime.close()


@pytest.fixture
async def bot(runtime):
    services = BotServices(
        watchtime=runtime.watchtime,
        guilds=runtime.guilds,
        health=runtime.health,
        kick_setup=runtime.kick_setup,
        heist=runtime.heist,
    )
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


def kick_fixture(name: str) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "kick" / f"{name}.json").read_text())
    payload["broadcaster"]["user_id"] = STREAMER_ID
    return payload


def kick_user(user_id: int, name: str) -> dict[str, Any]:
    return {"is_anonymous": False, "user_id": user_id, "username": name, "is_verified": False,
            "profile_picture": None, "channel_slug": name, "identity": None}  # fmt: skip


def subscription_webhooks(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """A new subscriber (42), a renewal (44) and a gifted one (45), as Kick sends them."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    new = kick_fixture("channel.subscription.new")
    new.update(subscriber=kick_user(42, "new_sub_k"), created_at=stamp, expires_at=None)
    renewal = kick_fixture("channel.subscription.renewal")
    renewal.update(subscriber=kick_user(44, "renewed_k"), created_at=stamp, expires_at=None)
    gifts = kick_fixture("channel.subscription.gifts")
    gifts.update(giftees=[kick_user(45, "gifted_k")], created_at=stamp, expires_at=None)
    return [
        ("channel.subscription.new", new),
        ("channel.subscription.renewal", renewal),
        ("channel.subscription.gifts", gifts),
    ]


# user id, name, badges: three Kick subscribers (each way of subscribing) and a viewer
CREW = [
    (42, "new_sub_k", ["subscriber"]),
    (44, "renewed_k", ["subscriber"]),
    (45, "gifted_k", ["subscriber"]),
    (43, "plain_k", []),
]


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
    for user, _, _ in CREW:
        runtime.points.give(guild.id, Platform.KICK, str(user), 1000, actor="test")

    server = runtime.start_web_server()
    try:
        for n, (event_type, payload) in enumerate(subscription_webhooks(clock.now)):
            answer = await kick.send_webhook_async(
                f"{server.url}/webhooks/kick", event_type, payload,
                message_id=f"01JHEISTSUBS000000000000{n}",
            )  # fmt: skip
            assert answer.status_code == 200
        await settle(runtime)
        known = runtime.sub_tiers.tiers_of(guild.id, "kick", ["42", "43", "44", "45"])
        assert {uid: (sub.tier, sub.is_prime, sub.source) for uid, sub in known.items()} == {
            "42": ("1", False, "kick:new"),
            "44": ("1", False, "kick:renewal"),
            "45": ("1", False, "kick:gifted"),
        }
        for n, (user, name, badges) in enumerate(CREW):
            answer = await kick.send_webhook_async(
                f"{server.url}/webhooks/kick",
                "chat.message.sent",
                join_payload(user, name, badges, clock.now),
                message_id=f"01JHEISTFLOW00000000000{n}",
            )
            assert answer.status_code == 200
        await settle(runtime)
    finally:
        server.close()

    clock.advance(119)
    assert await runtime.heist_chat.resolve_due() == []
    assert runtime.heist.status(guild.id, Platform.KICK) is not None  # still open at 119 s
    clock.advance(1)
    runtime.heist.draw = Draws([0.0] * len(CREW))  # the whole crew gets away
    await runtime.heist_chat.resolve_due()
    await runtime.heist_chat.post_pending()
    await make_queued_calls(runtime)
    assert runtime.heist.status(guild.id, Platform.KICK) is None

    replies = [m.content for m in kick.chat_messages]
    # Each subscriber hears their tier and bonus, as the StreamElements widget shows them.
    assert replies[0].startswith(
        "A heist is being planned! You are in with 200 points (low risk), Tier 1 - 1.2x rewards."
    )
    assert replies[1:4] == [
        "You are in with 200 points (low risk), Tier 1 - 1.2x rewards: 2 in the crew, 120 s left "
        "to join.",
        "You are in with 200 points (low risk), Tier 1 - 1.2x rewards: 3 in the crew, 120 s left "
        "to join.",
        "You are in with 200 points (low risk): 4 in the crew, 120 s left to join.",
    ]
    assert replies[4] == (
        "The vault is open! 4 of 4 got away: @gifted_k (+360), @new_sub_k (+360), "
        "@renewed_k (+360), @plain_k (+300). Total loot: 1,380 points."
    )
    [posted] = discord_messages()
    assert posted.channel.id == channel.id
    crew_field = posted.embeds[0].fields[0].value
    for name in ("new\\_sub\\_k", "renewed\\_k", "gifted\\_k"):
        assert f"{name}** (Tier 1): +360" in crew_field
    assert "plain\\_k**: +300" in crew_field
    balances = {
        user: runtime.points.balance(guild.id, Platform.KICK, str(user)) for user, _, _ in CREW
    }
    assert balances == {42: 1160, 44: 1160, 45: 1160, 43: 1100}
