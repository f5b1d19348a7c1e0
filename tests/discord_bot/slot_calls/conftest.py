"""The slot call tests' Discord side: the services on dpytest's bot, chat through the real
router, the runtime's Discord worker posting with the bot's own poster."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.services import BotServices
from core.discord_bot.slot_calls.outbound import DiscordSlotCallPoster
from core.features.chat_commands.router import ChatCommandRouter
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.posts import SlotCallPosts
from core.features.slot_calls.service import SlotCallService
from core.outbox import DISCORD
from core.outbox.worker import OutboxWorker
from core.ratelimits import MemoryWindows
from tests.features.chat_commands.doubles import RecordingSender, replier_for, webhook_chat


@pytest.fixture
def gateway() -> DiscordGateway:
    return DiscordGateway()


@pytest.fixture
def slot_service(sqlite_engine, clock) -> SlotCallService:
    return SlotCallService(sqlite_engine, clock)


@pytest.fixture
def chat_sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def slot_chat(slot_service, chat_sender, guilds, clock) -> SlotCallChat:
    # The refusals answered are counted on the test's clock (a minute a message), not real time.
    windows = MemoryWindows(lambda: clock().timestamp())
    return SlotCallChat(slot_service, replier_for(chat_sender), guilds.name_of, windows=windows)


@pytest.fixture
def services(watchtime, guilds, health_report, slot_service, slot_chat) -> BotServices:
    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=lambda: health_report,
        slot_calls=slot_service,
        slot_call_chat=slot_chat,
    )


@pytest.fixture
def router(slot_chat, chat_sender) -> ChatCommandRouter:
    return ChatCommandRouter(slot_chat.commands(), replier_for(chat_sender))


@pytest.fixture
def discord_worker(sqlite_engine, slot_service, gateway, clock) -> OutboxWorker:
    """The runtime's Discord worker, posting with the bot's own poster."""
    posts = SlotCallPosts(slot_service, DiscordSlotCallPoster(gateway))
    return OutboxWorker(sqlite_engine, DISCORD, posts.kinds(), clock)


@pytest.fixture
def chat(router, clock, discord_worker):
    """``await chat(guild, "!call x", sender_id=..., username=...)``: a viewer says it (and the
    Discord worker makes the posts it queued)."""

    async def speak(guild: discord.Guild, content: str, **sender) -> None:
        clock.advance(60)
        sender.setdefault("badges", [])
        await router.handle(guild.id, webhook_chat(content, at=clock(), **sender))
        await router.flush()
        await discord_worker.run_once()

    return speak


@pytest.fixture
def calls_channel(guild_a) -> discord.TextChannel:
    return guild_a.text_channels[0]


@pytest.fixture
def calls_on(slot_service, guild_a, calls_channel) -> SlotCallService:
    slot_service.set_enabled(guild_a.id, True)
    slot_service.set_channel(guild_a.id, calls_channel.id)
    return slot_service


@pytest.fixture
def payloads(bot, monkeypatch) -> list[dict]:
    """What the bot sent to Discord's API for each message (allowed_mentions included)."""
    sent: list[dict] = []
    original = bot.http.send_message

    async def send_message(channel_id, *, params):
        sent.append(params.payload)
        # dpytest reads the target channel from its caller's local variable of this name.
        channel = bot.get_channel(int(channel_id))  # noqa: F841
        return await original(channel_id, params=params)

    monkeypatch.setattr(bot.http, "send_message", send_message)
    return sent


def sent_messages() -> list[discord.Message]:
    messages = []
    while not dpytest.sent_queue.empty():
        messages.append(dpytest.get_message())
    return messages
