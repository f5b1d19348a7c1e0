"""A pick names the viewer as they are called now: a viewer who renamed since their call is
announced under their new name (the old one may be someone else's by then)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Platform, Viewer
from core.features.slot_calls.chat import pick_announcement
from core.features.viewers.repository import remember_viewers
from tests.features.slot_calls.conftest import GUILD, MODERATOR


@pytest.fixture
def calls_on(service):
    service.set_enabled(GUILD, True)
    return service


def renamed(engine, clock, user_id: str, name: str) -> None:
    """The viewer chatted again under a new name (watchtime remembers every chatter's name)."""
    clock.advance(3600)
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer(user_id, name)], clock())


async def test_a_random_pick_names_the_viewer_as_they_are_called_now(calls_on, chat, engine, clock):
    await chat.say("!call Book of Dead", sender_id=42, username="old_name")
    renamed(engine, clock, "42", "new_name")

    pick = calls_on.pick(GUILD, MODERATOR)

    assert pick_announcement(pick) == "Picked slot: Book of Dead, called by @new_name!"


async def test_a_pick_from_the_posts_button_names_the_viewer_as_they_are_called_now(
    calls_on, chat, engine, clock
):
    await chat.say("!call Book of Dead", sender_id=42, username="old_name")
    [call] = calls_on.open_calls(GUILD, 10)
    renamed(engine, clock, "42", "new_name")

    pick = calls_on.pick_call(GUILD, call.id, MODERATOR)

    assert pick.call.username == "new_name"


async def test_a_viewer_whose_name_is_not_known_keeps_the_name_of_their_call(calls_on, chat, clock):
    await chat.say("!call Book of Dead", sender_id=42, username="caller")
    clock.advance(timedelta(hours=1).total_seconds())

    pick = calls_on.pick(GUILD, MODERATOR)

    assert pick.call.username == "caller"
