"""Chat bots in a streamer's chat, as the runtime wires every feature: another service's bot
(Nightbot, BotRix, ...) or one of StreamKeeper's own accounts is nobody watching. Its message
marks nobody present and runs no chat command, while a viewer's same message does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.events import ChatMessageSent, Platform, Viewer
from tests.fakes.kick_server import FakeKick
from tests.features.chat_commands.doubles import RecordingSender, replier_for
from tests.support.delivery import make_queued_calls
from tests.support.events import chat_message

GUILD = 111
TWITCH_CHANNEL = "1971641"
KICK_CHANNEL = "123456789"
AT = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
VIEWER = Viewer("4242", "alice")


def twitch_chat(text: str, viewer: Viewer, login: str, seconds: float = 10) -> ChatMessageSent:
    return chat_message(
        text,
        platform=Platform.TWITCH,
        broadcaster=TWITCH_CHANNEL,
        viewer=viewer,
        login=login,
        at=AT + timedelta(seconds=seconds),
    )


def kick_chat(text: str, viewer: Viewer, seconds: float = 10) -> ChatMessageSent:
    return chat_message(
        text, broadcaster=KICK_CHANNEL, viewer=viewer, at=AT + timedelta(seconds=seconds)
    )


NIGHTBOT = twitch_chat("!watchtime", Viewer("19264788", "Nightbot"), "nightbot")
BOTRIX = kick_chat("!watchtime", Viewer("5550002", "BotRix"))


@pytest.fixture
def runtime(make_runtime):
    runtime = make_runtime()
    runtime.guilds.set_twitch_channel(GUILD, "streamer", TWITCH_CHANNEL)
    runtime.guilds.set_kick_channel(GUILD, "streamer", KICK_CHANNEL)
    return runtime


async def said(runtime, event: ChatMessageSent) -> list[str]:
    sender = RecordingSender()
    runtime.chat_commands.replies = replier_for(sender)
    await runtime.dispatcher(event)
    await runtime.chat_commands.flush()
    await make_queued_calls(runtime)
    return sender.texts


async def present_after(runtime, event: ChatMessageSent) -> int:
    """How many viewers the next tick credits after ``event``."""
    runtime.watchtime.tick(GUILD, AT)
    await runtime.dispatcher(event)
    return runtime.watchtime.tick(GUILD, AT + timedelta(seconds=60)).credited_viewers


@pytest.mark.parametrize("bot", [NIGHTBOT, BOTRIX], ids=["twitch nightbot", "kick botrix"])
async def test_a_chat_bots_command_is_not_answered(runtime, bot):
    assert await said(runtime, bot) == []


@pytest.mark.parametrize(
    "viewer",
    [twitch_chat("!watchtime", VIEWER, "alice"), kick_chat("!watchtime", VIEWER)],
    ids=["twitch", "kick"],
)
async def test_a_viewers_same_command_is_answered(runtime, viewer):
    [answer] = await said(runtime, viewer)
    assert answer


@pytest.mark.parametrize("bot", [NIGHTBOT, BOTRIX], ids=["twitch nightbot", "kick botrix"])
async def test_a_chat_bots_message_is_no_presence(runtime, bot):
    assert await present_after(runtime, bot) == 0


async def test_a_viewers_message_is_presence(runtime):
    assert await present_after(runtime, twitch_chat("hello", VIEWER, "alice")) == 1


async def test_our_own_kick_account_neither_answers_itself_nor_watches(runtime):
    ours = Viewer("8880001", "StreamKeeperBot")
    runtime.chat_bots.add_own_account(Platform.KICK, "8880001")
    assert await said(runtime, kick_chat("!watchtime", ours)) == []
    assert await present_after(runtime, kick_chat("hi", ours, seconds=20)) == 0


async def test_the_kick_bot_user_is_learned_from_its_token_and_never_answers_itself(make_runtime):
    """KICK_BOT_USER_TOKEN's account (the bot speaks as it when Kick refuses the app's BOT):
    Kick names the token's owner at start, and that account's messages are the bot's own."""
    with FakeKick(user_id=1001, username="streamer") as fake:
        fake.add_user(8880001, "StreamKeeperBot")
        runtime = make_runtime(
            KICK_API_BASE_URL=fake.url,
            KICK_BOT_USER_TOKEN=fake.issue_user_token(8880001),
        )
        runtime.guilds.set_kick_channel(GUILD, "streamer", KICK_CHANNEL)
        await runtime.scheduler.loops["the Kick bot user's account"](asyncio.Event())
    ours = Viewer("8880001", "StreamKeeperBot")
    assert await said(runtime, kick_chat("!watchtime", ours)) == []
    assert await said(runtime, kick_chat("!watchtime", VIEWER)) != []


async def test_the_operator_names_more_chat_bots_with_chat_bots(make_runtime):
    runtime = make_runtime(CHAT_BOTS="MyChannelBot, @another_bot")
    runtime.guilds.set_kick_channel(GUILD, "streamer", KICK_CHANNEL)
    mine = Viewer("7770001", "MyChannelBot")
    assert await said(runtime, kick_chat("!watchtime", mine)) == []
    assert await present_after(runtime, kick_chat("hi", mine, seconds=20)) == 0
    assert await said(runtime, kick_chat("!watchtime", VIEWER, seconds=30)) != []
