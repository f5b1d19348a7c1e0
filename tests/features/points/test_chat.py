"""!points in Kick and Twitch chat, through the real router, on a real database."""

from __future__ import annotations

import pytest

from core.events import ChatMessageSent, Platform, Viewer
from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.points.chat import NOT_A_NAME, PointsChat
from core.features.points.service import PointsService
from core.features.viewers.repository import remember_viewers, usernames_of
from tests.features.chat_commands.doubles import T0, RecordingSender, webhook_chat
from tests.support.clock import Clock
from tests.support.events import chat_message

GUILD = 111
KICK_ID = 987654321  # the sender of Kick's example chat message


@pytest.fixture
def points(engine) -> PointsService:
    return PointsService(engine, Clock(T0))


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def router(points, sender) -> ChatCommandRouter:
    replies = ChatReplier(lambda platform: sender)  # one recorder for Kick and Twitch
    return ChatCommandRouter(PointsChat(points).commands(), replies)


def twitch_chat(content: str, user_id: str = "5555", login: str = "ann") -> ChatMessageSent:
    return chat_message(
        content,
        platform=Platform.TWITCH,
        broadcaster="12826",
        user_id=user_id,
        username=login,
        at=T0,
    )


async def ask(router: ChatCommandRouter, event: ChatMessageSent) -> None:
    await router.handle(GUILD, event)
    await router.flush()


async def test_own_balance_on_kick_and_on_twitch(router, sender, points):
    points.set_name(GUILD, "Pixels")
    points.give(GUILD, Platform.KICK, str(KICK_ID), 1200)
    points.give(GUILD, Platform.TWITCH, "6666", 5000)
    await ask(router, webhook_chat("!points", badges=[]))
    await ask(router, twitch_chat("!POINTS"))
    assert sender.texts == [
        "You have 1,200 Pixels: rank #2 of 2.",
        "You have 0 Pixels: watch and chat while the stream is live to earn.",
    ]


async def test_someone_elses_balance_by_name_on_the_same_platform(router, sender, points, engine):
    with engine.begin() as conn:
        remember_viewers(conn, Platform.TWITCH, [Viewer("6666", "Bob_TV")], T0)
        remember_viewers(conn, Platform.KICK, [Viewer("77", "kickbob")], T0)
    points.give(GUILD, Platform.TWITCH, "6666", 5000)
    await ask(router, twitch_chat("!points @bob_tv"))
    # A Kick name asked on Twitch (by another viewer: each has a cooldown).
    await ask(router, twitch_chat("!points kickbob", user_id="5556"))
    assert sender.texts == [
        "bob_tv has 5,000 points.",
        "No one called kickbob has chatted here yet.",
    ]


async def test_a_name_received_with_zero_width_characters_is_found_as_typed(
    router, sender, points, engine
):
    """A name that came with zero-width characters is stored without them: "bob_tv" finds it,
    and it does not look like a second bob_tv on the boards. An emoji's joiner stays."""
    with engine.begin() as conn:
        remember_viewers(conn, Platform.TWITCH, [Viewer("6666", "\u200bBob\u200c_TV\ufeff")], T0)
        remember_viewers(
            conn, Platform.TWITCH, [Viewer("7777", "Ann\u2060\U0001f469\u200d\U0001f4bb")], T0
        )
        stored = usernames_of(conn, [("twitch", "6666"), ("twitch", "7777")])
    assert stored == {"twitch:6666": "Bob_TV", "twitch:7777": "Ann\U0001f469\u200d\U0001f4bb"}
    points.give(GUILD, Platform.TWITCH, "6666", 5000)
    await ask(router, twitch_chat("!points bob_tv"))
    assert sender.texts == ["bob_tv has 5,000 points."]


@pytest.mark.parametrize("arguments", ["two words", "!points", "<@123>", "x" * 41, "@", "名前"])
async def test_what_is_not_a_name_gets_a_friendly_reply(router, sender, arguments):
    await ask(router, twitch_chat(f"!points {arguments}"))
    assert sender.texts == [NOT_A_NAME]


async def test_points_repeated_from_chatterino_or_7tv_shows_the_balance_again(
    router, sender, points
):
    """Chat drops a message identical to the sender's previous one, so Chatterino and 7TV
    append an invisible " U+E0000" to a repeat: it is no name to look up."""
    points.give(GUILD, Platform.KICK, str(KICK_ID), 1200)
    await ask(router, webhook_chat("!points", badges=["moderator"]))  # no cooldown
    await ask(router, webhook_chat("!points \U000e0000", badges=["moderator"]))
    assert sender.texts == ["You have 1,200 points: rank #1 of 1."] * 2


async def test_points_retyped_at_once_after_a_wrong_name_shows_the_balance(sender, points):
    """The refusal of what they typed does not cost the viewer their 10 s cooldown."""
    replies = ChatReplier(lambda platform: sender)
    router = ChatCommandRouter(PointsChat(points).commands(), replies, clock=lambda: 1000.0)
    points.give(GUILD, Platform.TWITCH, "5555", 300)
    await ask(router, twitch_chat("!points two words"))
    await ask(router, twitch_chat("!points"))
    await ask(router, twitch_chat("!points"))  # a balance shown starts the cooldown
    assert sender.texts == [NOT_A_NAME, "You have 300 points: rank #1 of 1."]


async def test_an_equal_balance_says_its_shared_rank(router, sender, points):
    """Chat said "rank #1 of 2" to both of two viewers with as much, as the board now says
    "=1" for each."""
    points.give(GUILD, Platform.KICK, str(KICK_ID), 1200)
    points.give(GUILD, Platform.KICK, "42", 1200)
    await ask(router, webhook_chat("!points", badges=[]))
    assert sender.texts == ["You have 1,200 points: rank =1 of 2."]
