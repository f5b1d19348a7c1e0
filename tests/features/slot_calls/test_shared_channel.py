"""Two Discord servers following one Kick channel (a streamer's server and a partner's): a
``!call`` goes to every server that has slot calls on, and the stream's one chat hears one
answer, from a server that has them on."""

from __future__ import annotations

import pytest

from core.events import ChatMessageSent
from core.features.slot_calls.posts import SlotCallPosts
from tests.features.chat_commands.doubles import RecordingSender, replier_for, webhook_chat
from tests.features.slot_calls.conftest import RecordingPoster
from tests.support.delivery import make_queued_calls

MAIN, PARTNER = 111, 222  # MAIN, the lower id, answers commands without slot calls
CHANNEL = {MAIN: 7001, PARTNER: 7002}
BROADCASTER = "1001"


@pytest.fixture
def shared(make_runtime):
    runtime = make_runtime()
    for guild_id in (MAIN, PARTNER):
        runtime.guilds.set_kick_channel(guild_id, "slotfans", BROADCASTER)
        runtime.slot_calls.set_channel(guild_id, CHANNEL[guild_id])
    sender, poster = RecordingSender(), RecordingPoster()
    runtime.chat_commands.replies = runtime.slot_call_chat.replies = replier_for(sender)
    runtime.discord_calls.kinds.update(SlotCallPosts(runtime.slot_calls, poster).kinds())

    async def chat(content: str, sender_id: int = 42) -> None:
        event = webhook_chat(content, broadcaster=BROADCASTER, sender_id=sender_id, badges=[])
        assert isinstance(event, ChatMessageSent)
        await runtime.dispatcher(event)
        await runtime.chat_commands.flush()
        await make_queued_calls(runtime)

    return runtime, sender, poster, chat


def open_names(runtime, guild_id: int) -> list[str]:
    return [call.slot_name for call in runtime.slot_calls.open_calls(guild_id, 10)]


async def test_a_call_reaches_the_server_with_calls_on_when_the_other_has_them_off(shared):
    runtime, sender, poster, chat = shared
    runtime.slot_calls.set_enabled(PARTNER, True)  # MAIN keeps slot calls off

    await chat("!call Book of Dead")

    assert sender.texts == ["Slot call added: Book of Dead (#1 in the queue)."]
    assert [(channel, call.guild_id) for channel, call, _ in poster.posts] == [(7002, PARTNER)]
    assert open_names(runtime, PARTNER) == ["Book of Dead"]
    assert open_names(runtime, MAIN) == []


async def test_a_call_goes_to_every_server_with_calls_on_and_is_answered_once(shared):
    runtime, sender, poster, chat = shared
    for guild_id in (MAIN, PARTNER):
        runtime.slot_calls.set_enabled(guild_id, True)

    await chat("!call Book of Dead")
    await chat("!sr Sugar Rush", sender_id=43)

    assert sender.texts == [
        "Slot call added: Book of Dead (#1 in the queue).",
        "Slot call added: Sugar Rush (#2 in the queue).",
    ]
    assert sorted((channel, call.slot_name) for channel, call, _ in poster.posts) == [
        (7001, "Book of Dead"),
        (7001, "Sugar Rush"),
        (7002, "Book of Dead"),
        (7002, "Sugar Rush"),
    ]
    assert (
        open_names(runtime, MAIN) == open_names(runtime, PARTNER) == ["Book of Dead", "Sugar Rush"]
    )


async def test_calls_off_in_both_servers_is_said_once(shared):
    _runtime, sender, poster, chat = shared

    await chat("!call Book of Dead")

    assert sender.texts == ["Slot calls are off right now."]
    assert poster.posts == []


async def test_sr_goes_only_to_the_server_that_takes_sr(shared):
    """One server leaves ``!sr`` to a song request bot: its ``!sr`` stays silent there, and the
    server that takes ``!sr`` as a slot call answers it."""
    runtime, sender, _poster, chat = shared
    for guild_id in (MAIN, PARTNER):
        runtime.slot_calls.set_enabled(guild_id, True)
    runtime.slot_calls.set_answer_sr(MAIN, False)

    await chat("!sr Sugar Rush")

    assert sender.texts == ["Slot call added: Sugar Rush (#1 in the queue)."]
    assert open_names(runtime, PARTNER) == ["Sugar Rush"]
    assert open_names(runtime, MAIN) == []
