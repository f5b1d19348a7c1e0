"""A viewer whose ``!join`` was refused for its typing may type it again at once, corrected;
a flood of wrong joins is still held back by the per-viewer cooldown."""

from __future__ import annotations

import pytest

from core.features.chat_commands.router import ChatCommandRouter
from tests.features.heist.conftest import Chat, give


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


@pytest.fixture
def still_chat(heist_chat, sender, clock) -> Chat:
    """The real router with its cooldown clock standing still: every message comes at once."""
    router = ChatCommandRouter(heist_chat.commands(), heist_chat.replies, clock=lambda: 1000.0)
    return Chat(router, sender, clock)


async def test_a_join_typed_wrong_and_retyped_at_once_is_answered(still_chat, points):
    give(points, "1", 1000)
    assert await still_chat.say("!join abc", "1") == (
        "Usage: !join <amount|all|half> [low|medium|high]"
    )
    assert (await still_chat.say("!join 100", "1") or "").startswith(
        "A heist is being planned! You are in with 100 points"
    )
    # A join that went through still starts the cooldown.
    assert await still_chat.say("!join 200", "1") is None


async def test_a_flood_of_wrong_joins_is_still_held_back(still_chat, points):
    give(points, "1", 1000)
    answers = [await still_chat.say("!join abc", "1") for _ in range(10)]
    answered = [answer for answer in answers if answer is not None]
    assert 1 < len(answered) <= 4
    assert answers[-1] is None
