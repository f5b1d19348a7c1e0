"""A viewer banned from the stream's chat: their open slot calls leave the queue, so a pick cannot
announce a banned viewer's slot in the chat they were banned from. A timeout leaves them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Platform, Viewer, ViewerBanned
from tests.features.chat_commands.doubles import BROADCASTER
from tests.features.slot_calls.conftest import GUILD, OTHER_GUILD


@pytest.fixture
def calls_on(service):
    service.set_enabled(GUILD, True)
    service.set_enabled(OTHER_GUILD, True)
    return service


def banned(clock, user_id: str, *, for_seconds: int | None = None) -> ViewerBanned:
    clock.advance(1)
    return ViewerBanned(
        platform=Platform.KICK,
        event_id=f"ban-{user_id}-{clock.now.timestamp()}",
        broadcaster_user_id=BROADCASTER,
        occurred_at=clock.now,
        viewer=Viewer(user_id, "troll"),
        moderator=Viewer("1", "mod"),
        expires_at=None if for_seconds is None else clock.now + timedelta(seconds=for_seconds),
    )


async def test_a_banned_viewers_open_calls_leave_the_queue(calls_on, chat, clock):
    await chat.say("!call Rude Slot", sender_id=66, username="troll")
    await chat.say("!call Book of Dead", sender_id=67, username="nice")
    await chat.say("!call Rude Slot", sender_id=66, username="troll", guild_id=OTHER_GUILD)

    calls_on.viewer_banned(GUILD, banned(clock, "66"))

    assert [call.username for call in calls_on.open_calls(GUILD, 10)] == ["nice"]
    assert calls_on.count_open(OTHER_GUILD) == 1  # that server was not told of a ban


async def test_a_timed_out_viewer_keeps_their_calls(calls_on, chat, clock):
    await chat.say("!call Book of Dead", sender_id=66, username="troll")

    calls_on.viewer_banned(GUILD, banned(clock, "66", for_seconds=600))

    assert calls_on.count_open(GUILD) == 1
