"""Event keys across channels: the bus drops an event whose key it has seen (for days), and a
key holds no broadcaster (``<platform>:<kind>:<event id>``). So an event id we make ourselves
(from a gift's running total, a hash of the content, a delivery's id) must name the channel;
only an id the platform gives the event itself (a chat message's, a redemption's, a stream's),
unique across channels, may be the same in two channels' copies of one payload."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.events import Event
from core.platforms.kick.pusher_events import parse_frame
from core.platforms.kick.webhook_events import parse_event
from core.platforms.twitch.notifications import parse_notification
from tests.conftest import FIXTURES

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
KICK = FIXTURES / "kick"
TWITCH = FIXTURES / "twitch"


def values_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from values_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from values_in(item)
    elif isinstance(value, str):
        yield value
        if value.startswith(("{", "[")):  # a Pusher frame's data, encoded once more
            yield from values_in(json.loads(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


def is_the_platforms_own_id(event: Event, payload: Any) -> bool:
    """The event id is a value of the payload (a redemption's with its status after it)."""
    given = set(values_in(payload))
    return event.event_id in given or event.event_id.rsplit(":", 1)[0] in given


def kick_webhook_pair(path: Path) -> tuple[Event | None, Event | None, Any]:
    payload = json.loads(path.read_text())
    copies = []
    for broadcaster, message_id in ((111, "01J00000000000000000000001"), (222, "01J02")):
        body = copy.deepcopy(payload)
        body["broadcaster"]["user_id"] = broadcaster
        copies.append(parse_event(path.stem, body, message_id=message_id, delivered_at=NOW))
    return copies[0], copies[1], payload


def pusher_pair(path: Path) -> tuple[Event | None, Event | None, Any]:
    raw = path.read_text()
    first, second = (
        parse_frame(raw, broadcaster_user_id=broadcaster, received_at=NOW)
        for broadcaster in ("111", "222")
    )
    return first, second, json.loads(raw)


def twitch_pair(path: Path) -> tuple[Event | None, Event | None, Any]:
    payload = json.loads(path.read_text())
    copies = []
    for broadcaster, message_id in (("111", "message-1"), ("222", "message-2")):
        body = copy.deepcopy(payload)
        for field in ("broadcaster_user_id", "to_broadcaster_user_id"):
            if field in body["event"]:
                body["event"][field] = broadcaster
        subscription_type = body["subscription"]["type"]
        copies.append(
            parse_notification(subscription_type, body, message_id=message_id, delivered_at=NOW)
        )
    return copies[0], copies[1], payload


CASES = [
    *[(path, kick_webhook_pair) for path in sorted(KICK.glob("[a-z]*.*.json"))],
    *[(path, pusher_pair) for path in sorted(KICK.glob("pusher-*.json"))],
    *[
        (path, twitch_pair)
        for path in sorted(TWITCH.glob("*.json"))
        if "event" in json.loads(path.read_text())
    ],
]


@pytest.mark.parametrize(("path", "pair"), CASES, ids=[path.stem for path, _ in CASES])
def test_one_payload_in_two_channels_is_two_events_unless_the_platform_named_it(path, pair):
    first, second, payload = pair(path)
    if first is None or second is None:
        pytest.skip("no event is made from this payload")
    if first.key == second.key:
        assert is_the_platforms_own_id(first, payload), first.key
