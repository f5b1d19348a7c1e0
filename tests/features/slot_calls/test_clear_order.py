"""!clearslots and the calls typed before it: a call belongs to the list of the moment it was
typed in chat, not to the moment the bot got round to it (a queue of events after a restart or a
busy minute)."""

from __future__ import annotations

import pytest

from tests.features.slot_calls.conftest import GUILD, MODERATOR, OTHER_GUILD


@pytest.fixture
def calls_on(service):
    service.set_enabled(GUILD, True)
    service.set_enabled(OTHER_GUILD, True)
    return service


async def test_a_call_typed_before_clearslots_but_handled_after_is_cleared_too(
    calls_on, chat, sender, poster, clock
):
    await chat.say("!call Book of Dead", sender_id=1)
    late = chat.message("!call Gates of Olympus", sender_id=2)  # typed, still queued
    clock.advance(5)
    assert calls_on.clear(GUILD, MODERATOR) == 1
    sender.sent.clear()

    await chat.deliver(late)
    await chat.say("!call Sweet Bonanza", sender_id=3)  # typed after the clear

    assert [call.slot_name for call in calls_on.open_calls(GUILD, 10)] == ["Sweet Bonanza"]
    assert [call.slot_name for _, call, _ in poster.posts] == ["Book of Dead", "Sweet Bonanza"]
    assert sender.texts == [
        "The slot calls were cleared after you called Gates of Olympus; please call it again.",
        "Slot call added: Sweet Bonanza (#1 in the queue).",
    ]


async def test_the_late_call_can_be_made_again_and_is_not_answered_twice(
    calls_on, chat, sender, poster, clock
):
    await chat.say("!call Book of Dead", sender_id=1)
    late = chat.message("!call Gates of Olympus", sender_id=2)
    clock.advance(5)
    calls_on.clear(GUILD, MODERATOR)
    sender.sent.clear()

    await chat.deliver(late)
    await chat.deliver(late)  # the same message delivered again
    clock.advance(60)
    await chat.say("!call Gates of Olympus", sender_id=2)

    assert [call.slot_name for call in calls_on.open_calls(GUILD, 10)] == ["Gates of Olympus"]
    assert len(sender.texts) == 2
    assert sender.texts[-1] == "Slot call added: Gates of Olympus (#1 in the queue)."


async def test_another_servers_clear_leaves_this_servers_late_calls_alone(
    calls_on, chat, sender, clock
):
    await chat.say("!call Book of Dead", sender_id=1, guild_id=OTHER_GUILD)
    late = chat.message("!call Gates of Olympus", sender_id=2)
    clock.advance(5)
    calls_on.clear(OTHER_GUILD, MODERATOR)

    await chat.deliver(late)

    assert [call.slot_name for call in calls_on.open_calls(GUILD, 10)] == ["Gates of Olympus"]
