"""Fuzz (hypothesis): signed Twitch EventSub deliveries whose event fields hold anything JSON can
hold, and unsigned junk, through the real web app on SQLite. Whatever comes, the answer is one of
the documented statuses, never a 500, and what is queued is a storable event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import ChatMessageSent, event_from_dict, event_to_dict
from core.platforms.twitch.notifications import parse_notification
from tests.fakes.twitch_eventsub import FIXTURE_OF, SECRET, EventSubSender, notification_body
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
