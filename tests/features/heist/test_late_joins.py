"""A ``!join`` delivered again once the router no longer remembers answering it (a dead chat
event re-queued from the event log, a redelivery after a long outage) must not take a second
stake for a heist its viewer never joined. (SQLite: the backends are the service tests'.)"""

from __future__ import annotations

import pytest

from core.events import Platform
from core.features.chat_commands.router import ChatInvocation, Permission
from core.features.heist.answers import CANCEL_TYPED_BEFORE, TYPED_BEFORE_THE_END
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


async def run_again(heist_chat, message) -> str | None:
    """What another bot process does with a command whose process was killed after running it
    and before forgetting it (``ChatCommandRouter.recover``): it runs it again."""
    invocation = ChatInvocation(GUILD, message, "join", "100", Permission.EVERYONE)
    return await heist_chat.join(invocation)


async def test_a_join_run_again_after_its_heist_was_called_off_takes_no_stake(
    chat, heist_chat, points, service, clock
):
    """A cancelled heist sets no cooldown: the join run again opened a new heist nobody heard
    of (its reply is never said twice) and took the refunded stake again."""
    give(points, "1", 1000)
    join = chat_message("!join 100", "1", at=clock.now)
    await chat.router.handle(GUILD, join)
    await chat.router.flush()
    clock.advance(5)
    await chat.say("!heist cancel", "9", badges=("moderator",))
    assert points.balance(GUILD, Platform.KICK, "1") == 1000
    clock.advance(5)

    assert await run_again(heist_chat, join) == TYPED_BEFORE_THE_END

    assert points.balance(GUILD, Platform.KICK, "1") == 1000
    assert service.status(GUILD, Platform.KICK) is None


async def test_a_join_run_again_after_its_heist_resolved_joins_no_other_heist(
    chat, heist_chat, points, service, draws, clock
):
    """With no rest between heists, the join run again after its heist resolved took a second
    stake for the heist another viewer opened next."""
    service.set_setting(GUILD, "cooldown", "0")
    give(points, "1", 1000)
    give(points, "2", 1000)
    join = chat_message("!join 100", "1", at=clock.now)
    await chat.router.handle(GUILD, join)
    await chat.router.flush()
    clock.advance(HeistRules().join_window_seconds)
    draws.push(LOSE)
    service.resolve_due()
    clock.advance(1)
    await chat.say("!join 100", "2")  # the next heist
    clock.advance(1)

    assert await run_again(heist_chat, join) == TYPED_BEFORE_THE_END

    assert points.balance(GUILD, Platform.KICK, "1") == 900
    _heist, crew = service.status(GUILD, Platform.KICK)
    assert crew == 1  # viewer 2 alone


async def test_a_cancel_run_again_calls_off_no_heist_opened_after_it(
    chat, heist_chat, points, service, clock
):
    """A cancel run again (another process, after the one that ran it was killed) called off
    the heist a viewer opened right after, and nobody heard of it (its reply is said once)."""
    give(points, "1", 1000)
    give(points, "2", 1000)
    await chat.say("!join 100", "1")
    clock.advance(5)
    cancel = chat_message("!heist cancel", "9", badges=("moderator",), at=clock.now)
    await chat.router.handle(GUILD, cancel)
    await chat.router.flush()
    clock.advance(2)
    await chat.say("!join 200", "2")  # a new heist: a called-off one sets no cooldown
    clock.advance(2)

    invocation = ChatInvocation(GUILD, cancel, "heist", "cancel", Permission.MODERATOR)
    assert await heist_chat.heist(invocation) == CANCEL_TYPED_BEFORE

    assert points.balance(GUILD, Platform.KICK, "2") == 800
    _heist, crew = service.status(GUILD, Platform.KICK)
    assert crew == 1
