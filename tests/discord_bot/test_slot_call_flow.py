"""The whole slot call path: a signed Kick webhook from the fake Kick, through the web app, the
bus, the chat command router and the slot call service, to an embed on dpytest's Discord and a
reply in the fake Kick's chat; then a moderator's !pickslot, announced in both places."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import urlsplit

import discord
import discord.ext.test as dpytest
import httpx
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from core.platforms.http import tls_context
from core.runtime import Runtime
from tests.conftest import FIXTURES
from tests.discord_bot.fake_discord import member_of, say
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.support import delivery
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
        kick,
        tmp_path / "data",
        clock,
        FLASK_SECRET_KEY="slot-flow-secret-a-key-of-32-characters-or-more",
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
        slot_calls=runtime.slot_calls,
        slot_call_chat=runtime.slot_call_chat,
    )
    bot = create_bot(services)
    await bot._async_setup_hook()
    await bot.load_cogs()
    dpytest.configure(bot, guilds=["Slot Fans"], text_channels=1, voice_channels=0, members=["mod"])
    bot._ready.set()  # what logging in does; the runtime's Discord ports wait for it
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


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def connect_streamer(web, connect_link: str) -> None:
    """The streamer opens the connect link, presses its button, consents on the fake Kick and
    comes back, in one browser."""
    opened = web.get(local(connect_link))
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = web.post(local(connect_link))
    assert started.status_code == 303, started.get_data(as_text=True)
    consent = httpx.get(started.headers["Location"], follow_redirects=False, verify=tls_context())
    callback = web.get(local(consent.headers["location"]))
    assert callback.status_code == 200, callback.get_data(as_text=True)


def chat_payload(content: str, message_id: str, said_at: datetime) -> dict:
    """Kick's example chat message, said in the streamer's channel by viewer 42."""
    payload = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["broadcaster"]["user_id"] = STREAMER_ID
    payload["sender"].update(user_id=42, username="slotfan")
    payload["sender"]["identity"]["badges"] = []
    payload.update(content=content, message_id=message_id)
    payload["created_at"] = said_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


async def settle(runtime: Runtime) -> None:
    """Run the consumer until the queue is empty, then let commands and chat replies finish."""
    await delivery.settle(runtime)
    await make_queued_calls(runtime)


def discord_messages() -> list[discord.Message]:
    messages = []
    while not dpytest.sent_queue.empty():
        messages.append(dpytest.get_message())
    return messages


async def test_a_call_from_a_kick_webhook_reaches_discord_and_chat_once_and_is_picked(
    runtime, kick, guild, moderator, clock
):
    channel = guild.text_channels[0]
    result = await runtime.kick_setup.setup(guild.id, moderator.id, "streamer")
    await asyncio.to_thread(
        connect_streamer, runtime.create_web_app().test_client(), result.connect_link
    )
    await say("!slotcalls on", moderator)
    await say(f"!slotcalls channel {channel.mention}", moderator)
    server = runtime.start_web_server()
    try:
        webhook = (
            f"{server.url}/webhooks/kick",
            "chat.message.sent",
            chat_payload("!call Book of Dead", "chat-msg-1", clock.now),
        )

        first = await kick.send_webhook_async(*webhook, message_id="01JSLOTCALLFLOW0000000001")
        await settle(runtime)

        [posted] = discord_messages()
        assert posted.channel.id == channel.id
        [embed] = posted.embeds
        assert (embed.title, embed.description) == ("Slot call #1", "**Book of Dead**")
        assert embed.fields[0].value == "slotfan (Kick)"
        [reply] = kick.chat_messages
        assert reply.content == "Slot call added: Book of Dead (#1 in the queue)."
        assert (reply.broadcaster_user_id, reply.reply_to_message_id) == (STREAMER_ID, "chat-msg-1")

        again = await kick.send_webhook_async(*webhook, message_id="01JSLOTCALLFLOW0000000001")
        redelivered = await kick.send_webhook_async(
            *webhook, message_id="01JSLOTCALLFLOW0000000002"
        )
        await settle(runtime)
    finally:
        server.close()

    assert first.json()["status"] == "queued"
    assert again.json()["status"] == "duplicate"
    assert redelivered.status_code == 200
    assert discord_messages() == []
    assert len(kick.chat_messages) == 1
    assert runtime.slot_calls.count_open(guild.id) == 1

    [announced] = await say("!pickslot", moderator)
    await make_queued_calls(runtime)

    assert announced.channel.id == channel.id
    assert (announced.embeds[0].title, announced.embeds[0].description) == (
        "Slot picked",
        "**Book of Dead**",
    )
    assert [m.content for m in kick.chat_messages][1:] == [
        "Picked slot: Book of Dead, called by @slotfan!"
    ]
    assert runtime.slot_calls.count_open(guild.id) == 0


def ban_payload(user_id: int, banned_at: datetime, *, expires: bool = False) -> dict:
    """Kick's example ``moderation.banned``: the streamer's moderator bans ``user_id`` (for good
    unless ``expires``)."""
    payload = json.loads((FIXTURES / "kick" / "moderation.banned.json").read_text())
    payload["broadcaster"]["user_id"] = STREAMER_ID
    payload["banned_user"].update(user_id=user_id, username="slotfan")
    payload["metadata"]["created_at"] = banned_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["metadata"]["expires_at"] = (
        banned_at.replace(year=banned_at.year + 1).strftime("%Y-%m-%dT%H:%M:%SZ")
        if expires
        else None
    )
    return payload


async def test_a_viewer_banned_in_chat_has_their_open_call_closed(
    runtime, kick, guild, moderator, clock
):
    result = await runtime.kick_setup.setup(guild.id, moderator.id, "streamer")
    await asyncio.to_thread(
        connect_streamer, runtime.create_web_app().test_client(), result.connect_link
    )
    await say("!slotcalls on", moderator)
    server = runtime.start_web_server()
    try:
        url = f"{server.url}/webhooks/kick"
        call = chat_payload("!call Rude Slot", "chat-msg-1", clock.now)
        await kick.send_webhook_async(url, "chat.message.sent", call, message_id="01JBANFLOW01")
        await settle(runtime)
        assert runtime.slot_calls.count_open(guild.id) == 1
        timeout = ban_payload(42, clock.now, expires=True)
        await kick.send_webhook_async(url, "moderation.banned", timeout, message_id="01JBANFLOW02")
        await settle(runtime)
        assert runtime.slot_calls.count_open(guild.id) == 1  # a timeout leaves it
        ban = ban_payload(42, clock.now)
        await kick.send_webhook_async(url, "moderation.banned", ban, message_id="01JBANFLOW03")
        await settle(runtime)
    finally:
        server.close()

    assert runtime.slot_calls.count_open(guild.id) == 0
    [(content, _)] = [(m.content, m) for m in await say("!pickslot", moderator)]
    assert content == "There are no open slot calls to pick from."
