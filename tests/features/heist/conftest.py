"""The heist on a real database: a points service, a heist service with scripted or seeded
draws, an in-test tier source, chat through the real router with a recording sender and a
recording Discord announcer."""

from __future__ import annotations

import itertools
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from core.events import ChatMessageSent, Platform
from core.features.chat_commands.queued import SAY, QueuedChat, service_of
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.heist.chat import ChatResultLine, HeistChat
from core.features.heist.ports import HeistResult
from core.features.heist.rules import HeistRules
from core.features.heist.service import HeistService
from core.features.points.service import PointsService
from core.outbox.worker import OutboxWorker
from tests.features.chat_commands.doubles import T0, RecordingSender
from tests.support import events
from tests.support.clock import Clock

GUILD = 111
KICK_BROADCASTER = "123456789"
TWITCH_BROADCASTER = "4242"


class Draws(random.Random):
    """A random source that returns the given numbers in order (then raises: a test that
    draws more than it meant to fails loudly); ``fail_at`` makes the n-th draw raise."""

    def __init__(self, values: Iterable[float] = (), fail_at: int | None = None) -> None:
        super().__init__(0)
        self.values = list(values)
        self.fail_at = fail_at
        self.drawn = 0

    def random(self) -> float:
        self.drawn += 1
        if self.fail_at is not None and self.drawn == self.fail_at:
            raise RuntimeError("the resolver was killed")
        return self.values.pop(0)

    def push(self, *values: float) -> None:
        self.values.extend(values)


@dataclass(frozen=True)
class Tier:
    platform: Platform
    platform_user_id: str
    tier: str
    is_prime: bool = False
    source: str = "test"
    seen_at: datetime = T0
    expires_at: datetime | None = None


@dataclass
class FakeSubTiers:
    """The sub_tiers port: a dict of known tiers, and the lookups asked for."""

    known: dict[str, Tier] = field(default_factory=dict)
    lookups: list[tuple[int, Platform, list[str]]] = field(default_factory=list)

    def set(self, user_id: str, tier: str, *, is_prime: bool = False, platform=Platform.TWITCH):
        self.known[user_id] = Tier(platform, user_id, tier, is_prime)

    def tiers_of(self, guild_id: int, platform: Platform, user_ids: Iterable[str]):
        return {u: self.known[u] for u in user_ids if u in self.known}

    def request_lookup(self, guild_id: int, platform: Platform, user_ids_with_sub_badge):
        self.lookups.append((guild_id, platform, list(user_ids_with_sub_badge)))


class RecordingAnnouncer:
    def __init__(self) -> None:
        self.posts: list[tuple[int, HeistResult]] = []
        self.fail: Exception | None = None

    async def announce_result(self, channel_id: int, result: HeistResult) -> str | None:
        if self.fail is not None:
            raise self.fail
        self.posts.append((channel_id, result))
        return None


_ids = iter(range(1, 10**9))


def chat_message(
    content: str,
    user_id: str,
    *,
    platform: Platform = Platform.KICK,
    username: str | None = None,
    badges: tuple[str, ...] = (),
    badge_version: str | None = None,
    at: datetime = T0,
) -> ChatMessageSent:
    return events.chat_message(
        content,
        platform=platform,
        broadcaster=KICK_BROADCASTER if platform == Platform.KICK else TWITCH_BROADCASTER,
        user_id=user_id,
        username=username or f"viewer{user_id}",
        at=at,
        event_id=f"m-{next(_ids)}",
        badges=badges,
        subscriber_badge_version=badge_version,
    )


class Chat:
    """Viewers talking in the stream's chats (Kick and Twitch) through the real router; on
    ``platform`` unless a message says otherwise."""

    def __init__(self, router: ChatCommandRouter, sender: RecordingSender, clock: Clock):
        self.router = router
        self.sender = sender
        self.clock = clock
        self.platform = Platform.KICK

    async def say(self, content: str, user_id: str = "1", **kwargs) -> str | None:
        """What the bot answered (None: silence)."""
        before = len(self.sender.sent)
        kwargs.setdefault("platform", self.platform)
        event = chat_message(content, user_id, at=self.clock.now, **kwargs)
        await self.router.handle(GUILD, event)
        await self.router.flush()
        new = self.sender.sent[before:]
        assert len(new) <= 1
        return new[0].text if new else None


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def points(engine, clock) -> PointsService:
    return PointsService(engine, clock)


@pytest.fixture
def tiers() -> FakeSubTiers:
    return FakeSubTiers()


@pytest.fixture
def draws() -> Draws:
    return Draws()


@pytest.fixture
def service(engine, clock, points, tiers, draws) -> HeistService:
    result_line = ChatResultLine(lambda platform: True)
    return HeistService(
        engine, clock, points, HeistRules(), sub_tiers=tiers, draw=draws, result_line=result_line
    )


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def say_queued(engine, clock, sender) -> Callable[[], Awaitable[None]]:
    """What the chat workers do: say every line the heist queued in the chat outbox (its
    results) with ``sender``."""
    queued = QueuedChat(engine, clock, lambda platform: sender)

    async def say() -> None:
        for platform in Platform:
            kinds = {SAY: queued.kind(platform)}
            while await OutboxWorker(engine, service_of(platform), kinds, clock).run_once():
                pass

    return say


@pytest.fixture
def announcer() -> RecordingAnnouncer:
    return RecordingAnnouncer()


@pytest.fixture
def heist_chat(service, sender, announcer) -> HeistChat:
    return HeistChat(service, ChatReplier(lambda platform: sender), announcer)


@pytest.fixture
def chat(heist_chat, sender, clock) -> Chat:
    # The router's cooldown clock jumps 100 s at each look, so its short per-viewer cooldowns
    # never hide an answer these tests are about.
    ticks = itertools.count(0, 100)
    router = ChatCommandRouter(heist_chat.commands(), heist_chat.replies, clock=lambda: next(ticks))
    return Chat(router, sender, clock)


def give(points: PointsService, user_id: str, amount: int, platform=Platform.KICK) -> None:
    points.give(GUILD, platform, user_id, amount, actor="test")
