"""Signed Kick deliveries holding hostile strings: answered 200 or 4xx, never 500 or 503.

Every string and id in every event type's fixture is replaced, one at a time, by a lone
surrogate, a NUL, 300 characters or ``1e308``; the message id header is made over-long or
non-ASCII. Accepted deliveries must be stored with bounded, clean strings and handled without a
single failure; refused ones must leave nothing behind (no queued event, no receipt).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from core.events import event_from_dict
from core.features.viewers.tables import viewers
from core.platforms.kick.signing import signed_headers
from core.storage.tables import bus_events, webhook_receipts
from tests.conftest import FIXTURES
from tests.support.delivery import deliver_all
from tests.web.test_webhooks import BROADCASTER, EVENT_TYPES, GUILD

NASTY: list[Any] = ["\ud800", "a\x00b", "x" * 300, 1e308, 10**40, "\udfffname\x00"]


def fixture_payload(event_type: str) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "kick" / f"{event_type}.json").read_text())
    payload["broadcaster"]["user_id"] = int(BROADCASTER)
    return payload


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every string or number in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield path


def with_value(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def fresh_ids(payload: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """A new natural id for every delivery, so no mutation is a duplicate of another."""
    for key in ("message_id", "id"):
        if key in payload and path != (key,):
            payload[key] = str(uuid.uuid4())
    return payload


def strings_of(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_of(item)


def is_clean(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url)
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    return runtime


def counts(runtime) -> tuple[int, int]:
    with runtime.engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(bus_events)).scalar_one()
        receipts = conn.execute(
            sa.select(sa.func.count()).select_from(webhook_receipts)
        ).scalar_one()
    return events, receipts


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_hostile_strings_in_signed_deliveries_never_answer_5xx(runtime, kick_keys, event_type):
    client = runtime.create_web_app().test_client()
    base = fixture_payload(event_type)
    answers: dict[int, int] = {}
    for path in leaves(base):
        for nasty in NASTY:
            body = json.dumps(fresh_ids(with_value(base, path, nasty), path)).encode()
            headers = signed_headers(kick_keys[0], body, event_type=event_type)
            before = counts(runtime)

            response = client.post("/webhooks/kick", data=body, headers=headers)

            where = f"{event_type} {path} = {nasty!r:.40}"
            answers[response.status_code] = answers.get(response.status_code, 0) + 1
            assert response.status_code in (200, 400), where
            events, receipts = counts(runtime)
            if response.status_code == 400:
                assert response.json["status"] == "rejected", where
                assert (events, receipts) == before, f"{where} left something behind"
            elif response.json["status"] == "queued":
                assert events == before[0] + 1, where
    assert answers.get(200), "some hostile deliveries are still usable and must be accepted"

    with runtime.engine.connect() as conn:
        stored = [row.payload for row in conn.execute(sa.select(bus_events.c.payload))]
    for payload in stored:
        event = event_from_dict(json.loads(payload))
        assert len(event.key) <= 255
        for text in strings_of(json.loads(payload)):
            assert is_clean(text), f"{event.key}: {text!r:.60}"
            assert len(text) <= 2000

    deliver_all(runtime)  # every handler on the real database
    with runtime.engine.connect() as conn:
        failed = conn.execute(
            sa.select(bus_events.c.event_key, bus_events.c.last_error).where(
                sa.or_(bus_events.c.attempts > 0, bus_events.c.dead_at.is_not(None))
            )
        ).all()
    assert failed == []


@pytest.mark.parametrize(
    "message_id", ["M" * 300, "01ÉTÉ0000000000000000000000", "01 SPACE", "01\x7fDEL"]
)
def test_a_malformed_message_id_header_is_refused_with_400(runtime, kick_keys, message_id):
    client = runtime.create_web_app().test_client()
    body = json.dumps(fixture_payload("chat.message.sent")).encode()
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    headers["Kick-Event-Message-Id"] = message_id  # the signature no longer matters

    response = client.post("/webhooks/kick", data=body, headers=headers)

    assert response.status_code == 400
    assert response.json["status"] == "rejected"
    assert "message id" in response.json["detail"]
    assert counts(runtime) == (0, 0)


def test_an_over_long_chat_message_id_is_refused_and_a_retry_is_refused_the_same_way(
    runtime, kick_keys
):
    client = runtime.create_web_app().test_client()
    payload = {**fixture_payload("chat.message.sent"), "message_id": "m" * 300}
    body = json.dumps(payload).encode()
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")

    first = client.post("/webhooks/kick", data=body, headers=headers)
    retry = client.post("/webhooks/kick", data=body, headers=headers)

    assert (first.status_code, retry.status_code) == (400, 400)
    assert "message_id" in first.json["detail"]
    assert counts(runtime) == (0, 0)


def test_hostile_free_text_is_cleaned_and_the_event_accepted(runtime, kick_keys):
    client = runtime.create_web_app().test_client()
    payload = fixture_payload("chat.message.sent")
    payload["content"] = "hi \ud800 there\x00" + "!" * 5000
    payload["sender"]["username"] = "bad\ud800name\x00"
    body = json.dumps(payload).encode()
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")

    response = client.post("/webhooks/kick", data=body, headers=headers)
    deliver_all(runtime)

    assert (response.status_code, response.json["status"]) == (200, "queued")
    with runtime.engine.connect() as conn:
        [stored] = conn.execute(sa.select(bus_events.c.payload, bus_events.c.acked_at)).all()
    event = event_from_dict(json.loads(stored.payload))
    assert event.content.startswith("hi \ufffd there!")
    assert len(event.content) <= 2000
    assert event.viewer.username == "bad\ufffdname"
    assert stored.acked_at is not None
    with runtime.engine.connect() as conn:
        usernames = conn.execute(sa.select(viewers.c.username)).scalars().all()
    assert usernames == ["bad\ufffdname"]
