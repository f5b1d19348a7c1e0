"""The dispatcher and a server that removed the bot: its events are done for it (not delivered
again) with no handler run, counted by kind and logged once per server and stream; the other
servers of the same event are served; the left set is read once per batch with the routing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from core.bus.dispatch import Dispatcher
from core.events import AccountLinked, ChatMessageSent, Platform, StreamStarted, Viewer
from core.metrics import Metrics
from tests.support.events import chat_message

T0 = datetime(2030, 1, 1, tzinfo=UTC)
LEFT, SERVED = 1, 2


def chat(n: int) -> ChatMessageSent:
    return chat_message(
        "hi", broadcaster="77", user_id="9", username="carol", at=T0, event_id=f"m{n}"
    )


def live(n: int) -> StreamStarted:
    return StreamStarted(
        platform=Platform.KICK, event_id=f"s{n}", broadcaster_user_id="77", occurred_at=T0
    )


def linked(guild_id: int) -> AccountLinked:
    return AccountLinked(
        platform=Platform.KICK,
        event_id="link-1",
        occurred_at=T0,
        guild_id=guild_id,
        discord_user_id=42,
        viewer=Viewer("9", "carol"),
    )


async def test_a_left_servers_events_reach_no_handler_and_the_others_are_served(caplog) -> None:
    seen: list[tuple[int, str]] = []
    asked: list[str] = []
    note = lambda guild_id, event: seen.append((guild_id, event.kind))  # noqa: E731
    handled: list[list[int]] = []
    metrics = Metrics()

    def left() -> set[int]:
        asked.append("left")
        return {LEFT}

    dispatcher = Dispatcher(
        {ChatMessageSent: [note], StreamStarted: [note], AccountLinked: [note]},
        lambda platform, broadcaster, via: [LEFT, SERVED],
        metrics,
        handled.append,
        left_guilds=left,
    )
    caplog.set_level(logging.INFO, logger="core.bus.dispatch")

    outcomes = await dispatcher.handle_many([chat(1), chat(2), linked(LEFT), linked(SERVED)])
    await dispatcher.handle_many([chat(3)])
    await dispatcher.handle_many([live(1), chat(4)])

    assert outcomes == [None] * 4  # done: a removed server's events are not delivered again
    assert seen == [
        (SERVED, "chat_message_sent"),
        (SERVED, "chat_message_sent"),
        (SERVED, "account_linked"),
        (SERVED, "chat_message_sent"),
        (SERVED, "stream_started"),
        (SERVED, "chat_message_sent"),
    ]
    assert handled == [[SERVED]] * 3
    assert asked == ["left"] * 3  # once per batch
    assert metrics.events_dropped.value(kind="chat_message_sent") == 4
    assert metrics.events_dropped.value(kind="account_linked") == 1
    told = [r.getMessage() for r in caplog.records if "removed the bot" in r.getMessage()]
    assert len(told) == 2  # once, and again when its stream starts
    assert told[1].startswith(f"server {LEFT} removed the bot: its events (stream_started first)")


async def test_a_server_back_is_served_and_told_of_again_when_it_leaves_again(caplog) -> None:
    seen: list[int] = []
    left: set[int] = {LEFT}
    dispatcher = Dispatcher(
        {ChatMessageSent: [lambda guild_id, event: seen.append(guild_id)]},
        lambda platform, broadcaster, via: [LEFT],
        Metrics(),
        left_guilds=lambda: set(left),
    )
    caplog.set_level(logging.INFO, logger="core.bus.dispatch")

    await dispatcher(chat(1))
    left.clear()
    await dispatcher(chat(2))
    left.add(LEFT)
    await dispatcher(chat(3))

    assert seen == [LEFT]
    assert len([r for r in caplog.records if "removed the bot" in r.getMessage()]) == 2
