"""A viewer put on the slot call blacklist: the calls they already have open leave the queue, so a
moderator's next pick cannot land on them."""

from __future__ import annotations

import pytest

from tests.features.slot_calls.conftest import GUILD, MODERATOR, OTHER_GUILD


@pytest.fixture
def calls_on(service):
    service.set_enabled(GUILD, True)
    service.set_enabled(OTHER_GUILD, True)
    return service


@pytest.mark.parametrize("seen_chatting", [True, False])
async def test_blacklisting_a_viewer_closes_their_open_calls(
    calls_on, chat, viewer_seen, seen_chatting
):
    if seen_chatting:
        viewer_seen(66, "Troll")
    await chat.say("!call Rude Words Slot", sender_id=66, username="Troll")
    await chat.say("!call Book of Dead", sender_id=67, username="nice")
    chat.clock.advance(60)
    await chat.say("!call Another Rude One", sender_id=66, username="Troll")
    await chat.say("!call Rude Words Slot", sender_id=66, username="Troll", guild_id=OTHER_GUILD)

    added = calls_on.blacklist.add(GUILD, "troll", added_by=MODERATOR, reason="spam")

    assert [call.slot_name for call in calls_on.open_calls(GUILD, 10)] == ["Book of Dead"]
    assert calls_on.pick(GUILD, MODERATOR).call.username == "nice"
    assert calls_on.count_open(OTHER_GUILD) == 1  # another server's list is its own
    assert (added.is_new, added.closed_calls) == (True, 2)


async def test_blacklisting_someone_without_calls_closes_nothing(calls_on, chat):
    await chat.say("!call Book of Dead", sender_id=67, username="nice")

    added = calls_on.blacklist.add(GUILD, "troll", added_by=MODERATOR)

    assert calls_on.count_open(GUILD) == 1
    assert (added.is_new, added.closed_calls) == (True, 0)
