"""Fuzz (hypothesis): signed Twitch EventSub deliveries whose event fields hold anything JSON can
hold, signed revocations and callback verifications whose subscription holds anything, and
unsigned junk, through the real web app on SQLite. Whatever comes, the answer is one of
the documented statuses, never a 500, and what is queued is a storable event."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import ChatMessageSent, event_from_dict, event_to_dict
from core.features.connections.tables import twitch_revocations
from core.platforms.twitch.notifications import parse_notification
from core.platforms.twitch.webhook import REVOCATION, VERIFICATION
from tests.fakes.twitch_eventsub import (
    FIXTURE_OF,
    SECRET,
    EventSubSender,
    fixture,
    notification_body,
)
from tests.fuzz.conftest import record

BROADCASTER = "1337"
ALLOWED = {200, 400, 403, 413}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

hostile_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["\x00", "\ud800", "x" * 3000, " ", "1e308", "\u202e", "🙂" * 70]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    hostile_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def runtime(make_runtime):
    runtime = make_runtime(TWITCH_EVENTSUB_SECRET=SECRET)
    runtime.guilds.set_twitch_channel(111, "cooler_user", BROADCASTER)
    return runtime


@pytest.fixture
def twitch(runtime) -> EventSubSender:
    return EventSubSender.flask(runtime.create_web_app().test_client(), lambda: datetime.now(UTC))


@FUZZ
@given(
    subscription_type=st.sampled_from(sorted(FIXTURE_OF)),
    changes=st.dictionaries(
        st.sampled_from(
            [
                "user_id",
                "user_name",
                "chatter_user_id",
                "chatter_user_name",
                "message_id",
                "message",
                "badges",
                "tier",
                "total",
                "is_anonymous",
                "reward",
                "status",
                "id",
                "started_at",
                "notice_type",
                "sub",
                "resub",
                "reply",
                "source_broadcaster_user_id",
            ]
        ),
        json_values,
        max_size=4,
    ),
)
def test_signed_notifications_with_any_field_values_never_fail(
    twitch, runtime, subscription_type, changes
):
    before = runtime.bus.backlog()
    body = notification_body(subscription_type, BROADCASTER)
    body["event"].update(changes)
    status, answer = twitch.send(json.dumps(body).encode(), subscription_type=subscription_type)
    assert status in ALLOWED, answer
    queued = runtime.bus.backlog() - before
    assert queued == (1 if answer["status"] == "queued" else 0)


@FUZZ
@given(
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Twitch-Eventsub-Message-Id",
                "Twitch-Eventsub-Message-Timestamp",
                "Twitch-Eventsub-Message-Signature",
                "Twitch-Eventsub-Message-Type",
                "Twitch-Eventsub-Subscription-Type",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
    ),
)
def test_unsigned_junk_is_refused_and_queues_nothing(runtime, body, headers):
    client = runtime.create_web_app().test_client()
    response = client.post("/webhooks/twitch", data=body, headers=headers)
    assert response.status_code in {400, 403}
    assert runtime.bus.backlog() == 0


subscription_changes = st.dictionaries(
    st.sampled_from(["id", "type", "status", "version", "condition", "transport", "created_at"]),
    st.one_of(
        json_values,
        st.sampled_from(
            ["authorization_revoked", " user_removed ", "enabled", "channel.follow", BROADCASTER]
        ),
        st.fixed_dictionaries(
            {"broadcaster_user_id": st.one_of(json_values, st.just(BROADCASTER))}
        ),
    ),
    max_size=3,
)


def revocation_rows(runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(twitch_revocations)).scalar_one()


@FUZZ
@given(
    message_type=st.sampled_from([REVOCATION, VERIFICATION]),
    changes=st.one_of(subscription_changes, json_values),
    extra=st.one_of(
        st.just({}),
        st.dictionaries(st.sampled_from(["challenge", "event", "events"]), json_values, max_size=1),
    ),
    challenge=st.one_of(st.uuids().map(str), hostile_text),
)
def test_signed_revocations_and_challenges_with_any_fields_never_fail(
    twitch, runtime, message_type, changes, extra, challenge
):
    """The bodies a notification's parser never sees: a revocation is recorded at most once (a
    second delivery of it is a duplicate), a challenge is echoed exactly or refused, and
    neither queues an event."""
    body = fixture("revocation" if message_type == REVOCATION else "webhook_callback_verification")
    if isinstance(changes, dict):
        body["subscription"].update(changes)
    else:
        body["subscription"] = changes
    if message_type == VERIFICATION:
        body["challenge"] = challenge
    body.update(extra)
    raw = json.dumps(body).encode()
    before = revocation_rows(runtime)

    delivery = str(uuid.uuid4())
    status, answer = twitch.send(raw, message_type=message_type, message_id=delivery)
    again = twitch.send(raw, message_type=message_type, message_id=delivery)

    assert status in {200, 400}, answer
    assert runtime.bus.backlog() == 0
    added = revocation_rows(runtime) - before
    if message_type == VERIFICATION:
        assert added == 0
        if status == 200:
            assert answer == body["challenge"]
        record("twitch-webhook-challenge", f"{status}")
    else:
        outcome = answer["status"]
        assert added == (1 if outcome == "revoked" else 0)
        if outcome == "revoked":
            assert again == (200, {"status": "duplicate", "detail": again[1]["detail"]})
        record("twitch-webhook-revocation", f"{status} {outcome}")
    with runtime.engine.begin() as conn:  # each example starts from no revocation
        conn.execute(sa.delete(twitch_revocations))


shared_sources = st.one_of(
    json_values,
    st.sampled_from([BROADCASTER, "5550001", " 5550001 ", 5550001]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F), min_size=1, max_size=70),
)


@given(source=shared_sources, text=hostile_text)
def test_a_shared_chat_source_never_refuses_a_chat_message(source, text):
    """Whatever Twitch puts in ``source_broadcaster_user_id``, the chat message is kept: the
    source is a valid id (another channel's, or ours) or none, and a storable event."""
    body = notification_body("channel.chat.message", BROADCASTER)
    body["event"].update(source_broadcaster_user_id=source, message={"text": text})
    event = parse_notification(
        "channel.chat.message", body, message_id="delivery-1", delivered_at=datetime.now(UTC)
    )
    assert isinstance(event, ChatMessageSent)
    kept = event.source_broadcaster_user_id
    assert kept is None or (0 < len(kept) <= 64 and kept.isascii() and kept.isprintable())
    assert event.from_another_channel == (kept is not None and kept != BROADCASTER)
    assert event_from_dict(json.loads(json.dumps(event_to_dict(event)))) == event
    record("twitch-shared-chat", "another channel" if event.from_another_channel else "ours")
