"""Events check their own values: the last line behind every platform adapter."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import pytest

from core.events import (
    EVENT_TYPES,
    ChatMessageSent,
    Event,
    InvalidEvent,
    KicksGifted,
    Platform,
    SubscriptionsGifted,
    Viewer,
    channel,
    event_from_dict,
    event_to_dict,
    guild,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def chat(**changes: Any) -> ChatMessageSent:
    values: dict[str, Any] = {
        "platform": Platform.KICK,
        "event_id": "m-1",
        "broadcaster_user_id": "1",
        "occurred_at": T0,
        "viewer": Viewer("2", "alice"),
        "content": "hi",
    }
    return ChatMessageSent(**(values | changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": "\ud800"},
        {"event_id": "a\x00b"},
        {"event_id": "x" * 129},
        {"broadcaster_user_id": "9" * 65},
        {"broadcaster_user_id": "1\x00"},
        {"reply_to_message_id": "r" * 65},
        {"content": "hi\x00"},
        {"content": "\udfff"},
        {"content": "x" * 2001},
        {"badges": ("moderator", "\ud800")},
    ],
)
def test_an_event_refuses_values_no_store_accepts(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent):
        chat(**changes)


@pytest.mark.parametrize(
    ("user_id", "username"),
    [("9" * 65, "alice"), ("1\x00", "alice"), ("\ud800", "alice"), ("1", "a" * 101), ("1", "\x00")],
)
def test_a_viewer_refuses_an_over_long_or_unclean_id_or_name(user_id: str, username: str) -> None:
    with pytest.raises(InvalidEvent):
        Viewer(user_id, username)


def test_numbers_must_fit_64_bits() -> None:
    with pytest.raises(InvalidEvent):
        KicksGifted(
            platform=Platform.KICK,
            event_id="k",
            broadcaster_user_id="1",
            occurred_at=T0,
            viewer=Viewer("2", "a"),
            amount=2**63,
        )


def test_values_at_the_limits_are_accepted_and_round_trip() -> None:
    event = chat(
        event_id="e" * 128,
        broadcaster_user_id="b" * 64,
        viewer=Viewer("v" * 64, "n" * 100),
        content="\ufffd" * 2000,
    )
    assert event_from_dict(event_to_dict(event)) == event
    assert len(event.key) <= 255


def test_a_stored_event_that_breaks_the_rules_is_undecodable_so_the_bus_sets_it_aside() -> None:
    data = event_to_dict(
        SubscriptionsGifted(
            platform=Platform.KICK,
            event_id="g",
            broadcaster_user_id="1",
            occurred_at=T0,
            gifter=None,
            giftees=(Viewer("3", "bob"),),
            count=1,
        )
    )
    data["giftees"][0]["username"] = "bob\ud800"
    with pytest.raises(ValueError, match="malformed subscriptions_gifted"):
        event_from_dict(data)


@pytest.mark.parametrize("module", [channel, guild])
def test_every_event_with_a_kind_is_known_to_the_codec(module: Any) -> None:
    defined = {
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Event) and cls.__module__ == module.__name__ and "kind" in vars(cls)
    }
    assert defined <= set(EVENT_TYPES.values())
