"""A Twitch channel on dpytest's Discord with one real Runtime: a `!call` in Twitch chat (a signed
EventSub webhook) becomes a stored slot call posted in Discord, and `!leaderboard` shows a Kick
and a Twitch viewer of the same guild."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.services import BotServices
from core.events import Platform, Viewer
from core.runtime import Runtime
from tests.discord_bot.fake_discord import member_of, say
from tests.fakes.twitch_eventsub import SECRET, EventSubSender
from tests.features.chat_commands.doubles import RecordingSender
from tests.support.delivery import settle
from tests.support.events import chat_message

STREAMER = "1971641"


@pytest.fixture
async def runtime(make_runtime) -> AsyncIterator[Runtime]:
    runtime = make_runtime(TWITCH_EVENTSUB_SECRET=SECRET)
    yield runtime
    await runtime.chat_commands.close()
    runtime.discord.detach()


@pytest.fixture
async def bot(runtime):  # type: ignore[no-untyped-def]
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
    dpytest.configure(bot, guilds=["Both"], text_channels=1, voice_channels=0, members=["mod"])
    bot._ready.set()
    runtime.discord.attach(bot)
    yield bot
    await dpytest.empty_queue()


@pytest.fixture
def guild(bot) -> discord.Guild:  # type: ignore[no-untyped-def]
    return dpytest.get_config().guilds[0]


@pytest.fixture
async def moderator(guild) -> discord.Member:  # type: ignore[no-untyped-def]
    mod = member_of(guild, "mod")
    role = dpytest.backend.make_role(
        "Moderator", guild, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(mod, role)
    return mod


def discord_messages() -> list[discord.Message]:
    messages = []
    while not dpytest.sent_queue.empty():
        messages.append(dpytest.get_message())
    return messages


async def test_a_call_in_twitch_chat_is_stored_and_posted_in_discord_once(
    runtime, guild, moderator
):
    channel = guild.text_channels[0]
    runtime.guilds.set_twitch_channel(guild.id, "streamer", STREAMER)
    chat = RecordingSender()
    runtime.chat_senders[Platform.TWITCH] = lambda: chat
    await say("!slotcalls on", moderator)
    await say(f"!slotcalls channel {channel.mention}", moderator)
    twitch = EventSubSender.flask(runtime.create_web_app().test_client(), lambda: datetime.now(UTC))
    call = {
        "message_id": "twitch-chat-call-1",
        "message": {"text": "!call Book of Dead", "fragments": []},
        "badges": [],
    }

    first = await asyncio.to_thread(twitch.notify, "channel.chat.message", STREAMER, **call)
    await settle(runtime)
    again = await asyncio.to_thread(twitch.notify, "channel.chat.message", STREAMER, **call)
    await settle(runtime)

    assert (first[1]["status"], again[1]["status"]) == ("queued", "duplicate")
    [posted] = discord_messages()
    assert posted.channel.id == channel.id
    [embed] = posted.embeds
    assert (embed.title, embed.description) == ("Slot call #1", "**Book of Dead**")
    assert embed.fields[0].value == "viewer32 (Twitch)"
    assert runtime.slot_calls.count_open(guild.id) == 1
    assert chat.texts == ["Slot call added: Book of Dead (#1 in the queue)."]


async def test_the_leaderboard_shows_a_kick_and_a_twitch_viewer_of_one_guild(runtime, guild):
    runtime.guilds.set_kick_channel(guild.id, "kickstreamer", "777")
    runtime.guilds.set_twitch_channel(guild.id, "streamer", STREAMER)
    now = datetime.now(UTC).replace(microsecond=0)
    runtime.tick_all(now - timedelta(minutes=2))
    for platform, broadcaster, viewer in [
        (Platform.KICK, "777", Viewer("4145994", "kick_fan")),  # the same id on both platforms
        (Platform.TWITCH, STREAMER, Viewer("4145994", "twitch_fan")),
    ]:
        runtime.watchtime.record_chat(
            guild.id,
            chat_message(
                "hi",
                platform=platform,
                broadcaster=broadcaster,
                viewer=viewer,
                at=now - timedelta(seconds=30),
                event_id=f"{platform}-1",
            ),
        )
    runtime.tick_all(now)

    [board] = await say("!leaderboard", member_of(guild, "mod"))

    lines = (board.embeds[0].description or "").splitlines()
    assert sorted(line.split(" ", 1)[1] for line in lines) == [
        "kick\\_fan (Kick) - 2 min",  # one page of both platforms: each row names its own
        "twitch\\_fan (Twitch) - 2 min",
    ]
