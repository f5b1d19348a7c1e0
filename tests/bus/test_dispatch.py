"""The dispatcher: channel events go to every guild tracking the channel, guild events to one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.bus.dispatch import Dispatcher, handles_across_guilds
from core.events import (
    AccountLinked,
    ChatMessageSent,
    Platform,
    Viewer,
    event_from_dict,
    event_to_dict,
)
from core.metrics import Metrics
from tests.support.events import chat_message

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def linked(guild_id: int) -> AccountLinked:
    return AccountLinked(
        platform=Platform.KICK,
        event_id="link-1",
        occurred_at=T0,
        guild_id=guild_id,
        discord_user_id=42,
        viewer=Viewer("9", "carol"),
    )


async def test_channel_events_reach_every_guild_that_tracks_the_channel() -> None:
    seen: list[tuple[int, str]] = []
    dispatcher = Dispatcher(
        {ChatMessageSent: [lambda guild_id, event: seen.append((guild_id, event.content))]},
        lambda platform, broadcaster, via: [1, 2] if broadcaster == "77" else [],
        Metrics(),
    )
    chat = chat_message("hi", broadcaster="77", user_id="9", username="carol", at=T0, event_id="m1")

    await dispatcher(chat)

    assert seen == [(1, "hi"), (2, "hi")]
    assert set(dispatcher.last_events("77")) == {"chat_message_sent"}


async def test_a_guild_event_goes_to_its_guild_alone_without_routing() -> None:
    seen: list[tuple[int, int]] = []

    def no_routing(platform: Platform, broadcaster: str, via: int | None) -> list[int]:
        raise AssertionError("guild events are not routed by broadcaster")

    dispatcher = Dispatcher(
        {AccountLinked: [lambda guild_id, event: seen.append((guild_id, event.discord_user_id))]},
        no_routing,
        Metrics(),
    )

    await dispatcher(linked(555))

    assert seen == [(555, 42)]
    assert dispatcher.last_events("") == {}


def test_account_linked_round_trips_through_the_bus_encoding() -> None:
    event = linked(555)

    assert event_from_dict(event_to_dict(event)) == event
    assert event.key == "kick:account_linked:link-1"


async def test_an_event_read_from_a_chatroom_is_routed_with_that_chatroom() -> None:
    seen: list[int] = []
    routes = {None: [1, 2], 11: [1]}
    dispatcher = Dispatcher(
        {ChatMessageSent: [lambda guild_id, event: seen.append(guild_id)]},
        lambda platform, broadcaster, via: routes[via],
        Metrics(),
    )
    chat = chat_message(
        broadcaster="77", user_id="9", username="carol", at=T0, event_id="m2", via_chatroom_id=11
    )

    await dispatcher(chat)

    assert seen == [1]
    assert event_from_dict(event_to_dict(chat)) == chat


async def test_handled_events_tell_the_live_event_log_of_their_guilds() -> None:
    told: list[list[int]] = []

    def failing(guild_id: int, event: ChatMessageSent) -> None:
        if event.content == "boom":
            raise RuntimeError("a handler failed")

    dispatcher = Dispatcher(
        {ChatMessageSent: [failing]},
        lambda platform, broadcaster, via: [1, 2] if broadcaster == "77" else [],
        Metrics(),
        handled=told.append,
    )

    def chat(content: str, broadcaster: str = "77") -> ChatMessageSent:
        return chat_message(
            content, broadcaster=broadcaster, user_id="9", username="carol", at=T0, event_id=content
        )

    await dispatcher(chat("hi"))
    await dispatcher(chat("nobody", broadcaster="88"))  # no guild follows it: nothing to tell
    with pytest.raises(RuntimeError):
        await dispatcher(chat("boom"))  # failed: it comes again, told when it is handled
    assert told == [[1, 2]]


class Presence:
    """A handler with a form across guilds (as watchtime's presence has), which can be told to
    fail so the lanes do its work guild by guild."""

    def __init__(self, *, across_fails: bool = False) -> None:
        self.across_fails = across_fails
        self.calls: list[str] = []
        self.seen: set[tuple[int, str]] = set()

    @handles_across_guilds("record_across")
    def record(self, guild_id: int, event: ChatMessageSent) -> None:
        self.calls.append("one")
        self.seen.add((guild_id, event.content))

    def record_across(self, pairs: list[tuple[int, ChatMessageSent]]) -> None:
        self.calls.append(f"across {len(pairs)}")
        if self.across_fails:
            raise RuntimeError("the database said no")
        self.seen.update((guild_id, event.content) for guild_id, event in pairs)


def _chats(count: int) -> list[ChatMessageSent]:
    return [
        chat_message(f"m{n}", broadcaster="77", user_id="9", username="c", at=T0, event_id=f"e{n}")
        for n in range(count)
    ]


async def test_a_channel_many_guilds_follow_costs_one_call_across_them_per_batch() -> None:
    presence = Presence()
    others: list[int] = []
    dispatcher = Dispatcher(
        {ChatMessageSent: [presence.record, lambda guild_id, event: others.append(guild_id)]},
        lambda platform, broadcaster, via: list(range(200)),
        Metrics(),
    )

    outcomes = await dispatcher.handle_many(_chats(3))

    assert outcomes == [None, None, None]
    assert presence.calls == ["across 500", "across 100"]  # 600 pairs, ACROSS_LIMIT at a time
    assert presence.seen == {(g, f"m{n}") for g in range(200) for n in range(3)}
    assert sorted(others) == sorted(list(range(200)) * 3)  # the other handler, in the lanes


async def test_when_the_call_across_guilds_fails_the_lanes_do_it_guild_by_guild() -> None:
    presence = Presence(across_fails=True)
    dispatcher = Dispatcher(
        {ChatMessageSent: [presence.record]}, lambda platform, broadcaster, via: [1, 2], Metrics()
    )

    outcomes = await dispatcher.handle_many(_chats(2))

    assert outcomes == [None, None]
    assert presence.calls == ["across 4", "one", "one", "one", "one"]
    assert presence.seen == {(g, f"m{n}") for g in (1, 2) for n in range(2)}
