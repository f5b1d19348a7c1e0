"""Slot calls on a real database, with chat through the router, and the outbox's Discord worker
posting with a recording poster."""

from __future__ import annotations

import pytest

from core.events import ChatMessageSent
from core.features.chat_commands.router import ChatCommandRouter
from core.features.guilds.service import GuildService
from core.features.slot_calls.chat import SlotCallChat
from core.features.slot_calls.posts import SlotCallPosts
from core.features.slot_calls.repository import SlotCall
from core.features.slot_calls.service import SlotCallService
from core.outbox import DISCORD
from core.outbox.worker import OutboxWorker
from core.ratelimits import MemoryWindows
from tests.features.chat_commands.doubles import T0, RecordingSender, replier_for, webhook_chat
from tests.support.clock import Clock

GUILD = 111
OTHER_GUILD = 222
CALLS_CHANNEL = 5001
MODERATOR = 900


class RecordingPoster:
    """A SlotCallPoster that keeps what it posted; ``fail`` makes the next posts raise, and
    ``refuse`` answers with these words (why not posted: the channel is gone) until cleared."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, SlotCall, int]] = []
        self.fail: Exception | None = None
        self.refuse: str | None = None

    async def post_call(self, channel_id: int, call: SlotCall, position: int) -> str | None:
        if self.fail is not None:
            raise self.fail
        if self.refuse is not None:
            return self.refuse
        self.posts.append((channel_id, call, position))
        return None


class Chat:
    """Viewers talking in the stream's chat; the clock moves a second per message. After each
    message the Discord worker makes the posts that are due."""

    def __init__(self, router: ChatCommandRouter, clock: Clock, discord: OutboxWorker) -> None:
        self.router = router
        self.clock = clock
        self.discord = discord

    def message(self, content: str, **sender) -> ChatMessageSent:
        sender.setdefault("badges", [])
        self.clock.advance(1)
        return webhook_chat(content, at=self.clock.now, **sender)

    async def say(self, content: str, guild_id: int = GUILD, **sender) -> ChatMessageSent:
        event = self.message(content, **sender)
        await self.deliver(event, guild_id)
        return event

    async def deliver(self, event: ChatMessageSent, guild_id: int = GUILD) -> None:
        await self.router.handle(guild_id, event)
        await self.router.flush()
        await self.discord.run_once()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def service(engine, clock) -> SlotCallService:
    return SlotCallService(engine, clock, default_channel_id=CALLS_CHANNEL)


@pytest.fixture
def guilds(engine, clock) -> GuildService:
    return GuildService(engine, clock)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def slot_chat(service, sender, guilds, clock) -> SlotCallChat:
    # The refusals answered are counted on the test's clock, which moves a second a message.
    windows = MemoryWindows(lambda: clock().timestamp())
    return SlotCallChat(service, replier_for(sender), guilds.name_of, windows=windows)


@pytest.fixture
def discord_worker(engine, service, poster, clock) -> OutboxWorker:
    return OutboxWorker(engine, DISCORD, SlotCallPosts(service, poster).kinds(), clock)


@pytest.fixture
def chat(slot_chat, sender, clock, discord_worker) -> Chat:
    router = ChatCommandRouter(slot_chat.commands(), replier_for(sender))
    return Chat(router, clock, discord_worker)


@pytest.fixture
def viewer_seen(engine, clock):
    """Record that a viewer by this id and name chatted in GUILD (as any chat message does:
    their name, and their presence there)."""
    from core.events import Platform, Viewer
    from core.features.viewers.repository import remember_viewers
    from tests.features.viewers.guild_support import chatted_in

    def seen(user_id: int, username: str) -> None:
        with engine.begin() as conn:
            remember_viewers(conn, Platform.KICK, [Viewer(str(user_id), username)], clock())
        chatted_in(engine, GUILD, Platform.KICK, str(user_id))

    return seen
