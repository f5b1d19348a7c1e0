"""A ``!join`` delivered again once the router no longer remembers answering it (a dead chat
event re-queued from the event log, a redelivery after a long outage) must not take a second
stake for a heist its viewer never joined. (SQLite: the backends are the service tests'.)"""

from __future__ import annotations

import pytest

from core.events import Platform
from core.features.heist.chat import TOO_LATE
from core.features.heist.rules import HeistRules
from tests.features.heist.conftest import GUILD, chat_message, give

LOSE = 0.999


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


async def test_a_join_delivered_again_after_its_heist_took_no_second_stake(
    chat, points, service, draws, clock
):
    give(points, "1", 1000)
    join = chat_message("!join 100", "1", at=clock.now)
    await chat.router.handle(GUILD, join)
    await chat.router.flush()
    assert points.balance(GUILD, Platform.KICK, "1") == 900
    rules = HeistRules()
    clock.advance(rules.join_window_seconds)
    draws.push(LOSE)
    [result] = service.resolve_due()
    assert result.total_stake == 100
    clock.advance(rules.cooldown_seconds + 600)
    for _ in range(10):  # the router's clock moves on past its memory of answered messages
        await chat.say("!heist", "2")
    await chat.router.handle(GUILD, join)  # the same message, delivered again
    await chat.router.flush()
    assert chat.sender.sent[-1].text == TOO_LATE
    assert points.balance(GUILD, Platform.KICK, "1") == 900
    assert service.status(GUILD, Platform.KICK) is None
