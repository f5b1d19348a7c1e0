"""A viewer named by an admin or in chat is one seen in that server: every guild is a tenant, so
a name known only in another server finds nobody, and two servers that each have a 'bob' each
find their own (the bot's !points and !pointsgive, the dashboard's give and take, and chat's
!points, on our ledger and on StreamElements)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Platform, Viewer
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.linking.repository import AccountLink, save_link
from core.features.points.board import BalanceRow
from core.features.points.chat import PointsChat
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsRefused, PointsService
from core.features.viewers.repository import remember_viewers
from core.features.watchtime.repository import Presence, mark_present_many
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.chat_commands.doubles import T0, RecordingSender
from tests.support.clock import Clock
from tests.support.events import chat_message
from tests.support.waiting import no_sleep

HERE, ELSEWHERE = 111, 222


def seen(engine, platform: Platform, user_id: str, name: str, *, at=T0) -> None:
    with engine.begin() as conn:
        remember_viewers(conn, platform, [Viewer(user_id, name)], at)


def chatted(engine, guild_id: int, platform: Platform, user_id: str) -> None:
    """The viewer chatted in the guild's channel (nothing earned or posted yet)."""
    with engine.begin() as conn:
        mark_present_many(
            conn, [Presence(guild_id, platform, "chan", user_id, T0)], timedelta(minutes=5)
        )


@pytest.fixture
def points(engine) -> PointsService:
    return PointsService(engine, Clock(T0))


def test_a_name_known_only_in_another_server_finds_nobody(engine, points):
    seen(engine, Platform.KICK, "k1", "bob")
    points.give(ELSEWHERE, Platform.KICK, "k1", 500, actor_id=1)
    assert points.holders_named(HERE, "bob") == []
    with pytest.raises(PointsRefused, match="No viewer called 'bob' has chatted here"):
        points.holder_named(HERE, "bob")
    assert points.holder_named(ELSEWHERE, "bob") == BalanceRow(Platform.KICK, "k1", "bob", 500)


def test_two_servers_each_with_a_bob_each_find_their_own(engine, points):
    """k1 was called bob when it chatted in the other server and has been renamed since
    (unseen); k2 is bob now and chatted here. The admin here was told "more than one account:
    kick:bob or kick:bob", and could reach neither."""
    seen(engine, Platform.KICK, "k1", "bob", at=T0 - timedelta(days=300))
    points.give(ELSEWHERE, Platform.KICK, "k1", 500, actor_id=1)
    seen(engine, Platform.KICK, "k2", "Bob")
    chatted(engine, HERE, Platform.KICK, "k2")
    assert points.holder_named(HERE, "bob") == BalanceRow(Platform.KICK, "k2", "bob", 0)
    assert points.holder_named(ELSEWHERE, "bob") == BalanceRow(Platform.KICK, "k1", "bob", 500)
    assert points.give(HERE, Platform.KICK, "k2", 10, actor_id=1) == 10


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


def kick_chat(content: str, user_id: str = "900") -> object:
    return chat_message(
        content, platform=Platform.KICK, broadcaster="b1", user_id=user_id, username="asker", at=T0
    )


async def ask(router: ChatCommandRouter, guild_id: int, content: str) -> None:
    await router.handle(guild_id, kick_chat(content))
    await router.flush()


async def test_chat_asks_about_this_servers_viewer_only(engine, points, sender):
    seen(engine, Platform.KICK, "k1", "bob")
    points.give(ELSEWHERE, Platform.KICK, "k1", 500, actor_id=1)
    router = ChatCommandRouter(PointsChat(points).commands(), ChatReplier(lambda _: sender))
    await ask(router, HERE, "!points bob")
    assert sender.texts == ["No one called bob has chatted here yet."]


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        fake.points.update(elsewhere_bob=7000, here_bob=40)
        yield fake


def link(engine, member: int, kick_id: str, twitch_id: str, login: str, guild_id: int) -> None:
    with engine.begin() as conn:
        save_link(conn, AccountLink(Platform.KICK, kick_id, member, "bob", T0), guild_id)
        save_link(conn, AccountLink(Platform.TWITCH, twitch_id, member, login, T0), guild_id)


async def test_streamelements_chat_on_kick_shows_this_servers_bob(engine, points, se, sender):
    """On Kick a StreamElements guild shows the Twitch login linked to the Kick name asked
    about; that was the first Kick 'bob' found anywhere, here the other server's."""
    seen(engine, Platform.KICK, "k1", "bob", at=T0 - timedelta(days=300))
    chatted(engine, ELSEWHERE, Platform.KICK, "k1")
    link(engine, 1, "k1", "t1", "elsewhere_bob", ELSEWHERE)
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(HERE, CHANNEL_ID, JWT)
        router = ChatCommandRouter(
            PointsChat(points, wallet).commands(), ChatReplier(lambda _: sender)
        )
        await ask(router, HERE, "!points bob")
        seen(engine, Platform.KICK, "k2", "bob")
        chatted(engine, HERE, Platform.KICK, "k2")
        link(engine, 2, "k2", "t2", "here_bob", HERE)
        await router.handle(HERE, kick_chat("!points bob", user_id="901"))
        await router.flush()
    assert sender.texts == [
        "No one called bob has chatted here yet.",
        "here_bob has 40 points on StreamElements.",
    ]
