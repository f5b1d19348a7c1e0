from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from core.events import (
    ChatMessageSent,
    Event,
    Followed,
    KicksGifted,
    Platform,
    RewardRedeemed,
    StreamEnded,
    StreamMetadataUpdated,
    StreamStarted,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
    ViewerBanned,
    event_from_dict,
    event_to_dict,
)
from core.platforms.kick.signing import (
    format_timestamp,
    generate_key_pair,
    new_message_id,
    sign,
    signed_headers,
)
from core.platforms.kick.webhook import (
    KICK_EVENT_TYPES,
    MAX_BODY_BYTES,
    InvalidPayload,
    UnusablePayload,
    WebhookHeaders,
    WebhookRejected,
    check_timestamp,
    load_public_key,
    read_headers,
    verify_delivery,
    verify_signature,
)
from core.platforms.kick.webhook_events import parse_event

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kick"
NOW = datetime(2025, 4, 1, 7, 56, 19, tzinfo=UTC)
DELIVERED_AT = datetime(2026, 1, 1, tzinfo=UTC)
MESSAGE_ID = "01JQR5KV0QC94HMETWYNBWRW4Z"
MAX_AGE = 300
STREAM_ENDED = {"is_live": False, "ended_at": "2025-01-01T15:00:00+11:00"}
REQUIRED_HEADERS = (
    "Kick-Event-Message-Id",
    "Kick-Event-Message-Timestamp",
    "Kick-Event-Signature",
    "Kick-Event-Type",
)


@pytest.fixture(scope="module")
def key_pair() -> tuple[RSAPrivateKey, str]:
    return generate_key_pair()


@pytest.fixture(scope="module")
def private_key(key_pair: tuple[RSAPrivateKey, str]) -> RSAPrivateKey:
    return key_pair[0]


@pytest.fixture(scope="module")
def public_key(key_pair: tuple[RSAPrivateKey, str]) -> RSAPublicKey:
    return load_public_key(key_pair[1])


def fixture_body(event_type: str) -> bytes:
    return (FIXTURES / f"{event_type}.json").read_bytes()


def fixture_payload(event_type: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(fixture_body(event_type))
    return payload


def parse(event_type: str, payload: dict[str, Any]) -> Event | None:
    return parse_event(event_type, payload, message_id=MESSAGE_ID, delivered_at=DELIVERED_AT)


def parse_fixture(event_type: str, **changes: Any) -> Event | None:
    return parse(event_type, fixture_payload(event_type) | changes)


def told_by_content(event: Event | None, prefix: str) -> Event:
    """``event`` with the id its content made (checked to start with ``prefix``) set back to
    the message id, to compare its other fields."""
    assert event is not None
    assert event.event_id.startswith(prefix)
    assert event.event_id != MESSAGE_ID
    return dataclasses.replace(event, event_id=MESSAGE_ID)


def deliver(
    public_key: RSAPublicKey,
    headers: dict[str, str],
    body: bytes,
    *,
    max_age_seconds: int = MAX_AGE,
) -> tuple[WebhookHeaders, dict[str, Any]]:
    return verify_delivery(
        headers, body, public_key=public_key, now=NOW, max_age_seconds=max_age_seconds
    )


def reject(
    public_key: RSAPublicKey,
    headers: dict[str, str],
    body: bytes,
    *,
    max_age_seconds: int = MAX_AGE,
) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        deliver(public_key, headers, body, max_age_seconds=max_age_seconds)
    return caught.value


def headers_with(**changes: Any) -> WebhookHeaders:
    values: dict[str, Any] = {
        "message_id": MESSAGE_ID,
        "timestamp": format_timestamp(NOW),
        "signature": "",
        "event_type": "chat.message.sent",
        "event_version": "1",
        "subscription_id": None,
    }
    return WebhookHeaders(**(values | changes))


def common_fields(
    *, event_id: str = MESSAGE_ID, broadcaster: str = "123456789", occurred_at: datetime
) -> dict[str, Any]:
    return {
        "platform": Platform.KICK,
        "event_id": event_id,
        "broadcaster_user_id": broadcaster,
        "occurred_at": occurred_at,
    }


# Fixtures of the ten event types


def test_event_types_are_the_ten_documented_ones() -> None:
    assert len(KICK_EVENT_TYPES) == 10
    assert {path.stem for path in FIXTURES.glob("*.*.json")} == KICK_EVENT_TYPES


def test_chat_message_fixture_parses_into_chat_message_sent() -> None:
    assert parse_fixture("chat.message.sent") == ChatMessageSent(
        **common_fields(
            event_id="unique_message_id_123",
            occurred_at=datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC),
        ),
        viewer=Viewer("987654321", "sender_name"),
        content=("Hello [emote:4148074:HYPERCLAP] [emote:4148074:HYPERCLAP] [emote:37226:KEKW]"),
        badges=("moderator", "sub_gifter", "subscriber"),
        reply_to_message_id="unique_message_id_456",
    )


def test_follow_fixture_parses_into_followed_at_delivery_time() -> None:
    assert parse_fixture("channel.followed") == Followed(
        **common_fields(occurred_at=DELIVERED_AT), viewer=Viewer("987654321", "follower_name")
    )


@pytest.mark.parametrize(
    ("event_type", "is_renewal", "months"),
    [("channel.subscription.new", False, 1), ("channel.subscription.renewal", True, 3)],
)
def test_subscription_fixtures_parse_into_subscribed(
    event_type: str, is_renewal: bool, months: int
) -> None:
    assert told_by_content(parse_fixture(event_type), "sub-") == Subscribed(
        **common_fields(occurred_at=datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC)),
        viewer=Viewer("987654321", "subscriber_name"),
        is_renewal=is_renewal,
        months=months,
        tier=None,
        expires_at=datetime(2025, 2, 14, 16, 8, 6, tzinfo=UTC),
    )


def test_gifts_fixture_parses_into_subscriptions_gifted() -> None:
    assert told_by_content(parse_fixture("channel.subscription.gifts"), "gifts-") == (
        SubscriptionsGifted(
            **common_fields(occurred_at=datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC)),
            gifter=Viewer("987654321", "gifter_name"),
            giftees=(Viewer("561654654", "giftee_name"),),
            count=1,
            expires_at=datetime(2025, 2, 14, 16, 8, 6, tzinfo=UTC),
        )
    )


def test_reward_fixture_parses_into_rejected_redemption_keyed_by_id_and_status() -> None:
    assert parse_fixture("channel.reward.redemption.updated") == RewardRedeemed(
        **common_fields(
            event_id="01KBHE78QE4HZY1617DK5FC7YD:rejected",
            broadcaster="333",
            occurred_at=datetime(2025, 12, 2, 22, 54, 19, 323000, tzinfo=UTC),
        ),
        viewer=Viewer("123", "naughty-user"),
        reward_id="01KBHE7RZNHB0SKDV1H86CD4F3",
        reward_title="Uban Request",
        cost=1000,
        user_input="unban me",
        status="rejected",
        redemption_id="01KBHE78QE4HZY1617DK5FC7YD",  # the same in each status's delivery
    )


def test_live_status_fixture_parses_into_stream_started_in_utc() -> None:
    assert parse_fixture("livestream.status.updated") == StreamStarted(
        **common_fields(occurred_at=datetime(2025, 1, 1, 0, 0, tzinfo=UTC)), title="Stream Title"
    )


def test_stream_ended_variant_parses_into_stream_ended_at_ended_at() -> None:
    event = parse_fixture("livestream.status.updated", **STREAM_ENDED)
    assert event == StreamEnded(**common_fields(occurred_at=datetime(2025, 1, 1, 4, 0, tzinfo=UTC)))


def test_metadata_fixture_parses_into_stream_metadata_updated() -> None:
    assert parse_fixture("livestream.metadata.updated") == StreamMetadataUpdated(
        **common_fields(occurred_at=DELIVERED_AT),
        title="Stream Title",
        category="Category name",
        language="en",
        is_mature=True,
    )


def test_ban_fixture_parses_into_viewer_banned_with_timeout_expiry() -> None:
    assert parse_fixture("moderation.banned") == ViewerBanned(
        **common_fields(occurred_at=datetime(2025, 1, 14, 16, 8, 5, tzinfo=UTC)),
        viewer=Viewer("135790135", "banned_user_name"),
        moderator=Viewer("987654321", "moderator_name"),
        reason="banned reason",
        expires_at=datetime(2025, 1, 14, 16, 10, 6, tzinfo=UTC),
    )


def test_kicks_fixture_parses_into_kicks_gifted() -> None:
    assert told_by_content(parse_fixture("kicks.gifted"), "kicks-") == KicksGifted(
        **common_fields(occurred_at=datetime(2025, 10, 20, 4, 0, 8, 634000, tzinfo=UTC)),
        viewer=Viewer("987654321", "gift_sender"),
        amount=500,
        gift_name="Rage Quit",
        message="w",
    )


@pytest.mark.parametrize(
    "event_type", ["channel.subscription.new", "channel.subscription.gifts", "kicks.gifted"]
)
def test_what_earns_is_one_event_under_any_message_id(event_type: str) -> None:
    """Kick signs every app's deliveries with one key: another app's copy of the event,
    forwarded under its own message id, is the same event (one key), and so is the copy sent
    again as the other sub type; another moment or viewer is another event."""
    payload = fixture_payload(event_type)
    ours = parse_event(event_type, payload, message_id=new_message_id(), delivered_at=NOW)
    forwarded = parse_event(event_type, payload, message_id=new_message_id(), delivered_at=NOW)
    assert ours is not None
    assert forwarded is not None
    assert forwarded.key == ours.key
    later = parse(event_type, payload | {"created_at": "2025-01-14T16:08:07Z"})
    assert later is not None
    assert later.key != ours.key
    other = copy.deepcopy(payload)
    for who in ("subscriber", "gifter", "sender"):
        if who in other:
            other[who]["user_id"] = 1
    assert parse(event_type, other).key != ours.key  # type: ignore[union-attr]
    if event_type == "channel.subscription.new":
        renewal = parse("channel.subscription.renewal", payload)
        assert renewal is not None
        assert renewal.key == ours.key


@pytest.mark.parametrize("event_type", ["channel.subscription.new", "kicks.gifted"])
def test_without_a_time_what_earns_is_told_by_its_message_id(event_type: str) -> None:
    payload = fixture_payload(event_type)
    del payload["created_at"]
    event = parse(event_type, payload)
    assert event is not None
    assert event.event_id == MESSAGE_ID


@pytest.mark.parametrize("event_type", sorted(KICK_EVENT_TYPES))
def test_signed_fixture_delivery_verifies_and_parses_into_a_bus_safe_event(
    public_key: RSAPublicKey, private_key: RSAPrivateKey, event_type: str
) -> None:
    body = fixture_body(event_type)
    headers = signed_headers(private_key, body, event_type=event_type, timestamp=NOW)

    kick_headers, payload = deliver(public_key, headers, body)
    event = parse_event(
        kick_headers.event_type,
        payload,
        message_id=kick_headers.message_id,
        delivered_at=NOW,
    )

    assert payload == json.loads(body)
    assert event is not None
    assert event.platform is Platform.KICK
    assert event.occurred_at <= NOW
    assert event_from_dict(event_to_dict(event)) == event


# Signature


def test_valid_signature_verifies(public_key: RSAPublicKey, private_key: RSAPrivateKey) -> None:
    body = fixture_body("chat.message.sent")
    headers = read_headers(signed_headers(private_key, body, event_type="chat.message.sent"))
    assert verify_signature(public_key, headers, body) is True


def test_test_key_signature_does_not_verify_against_bundled_kick_key(
    private_key: RSAPrivateKey,
) -> None:
    kick_key = load_public_key(None)
    body = fixture_body("chat.message.sent")
    headers = read_headers(signed_headers(private_key, body, event_type="chat.message.sent"))
    assert kick_key.key_size == 2048
    assert verify_signature(kick_key, headers, body) is False


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Kick-Event-Message-Timestamp", format_timestamp(NOW + timedelta(seconds=1))),
        ("Kick-Event-Message-Id", "01JQR5KV0QC94HMETWYNBWRW50"),
        ("Kick-Event-Signature", "not base64 at all!"),
        ("Kick-Event-Signature", "AAAA"),
        ("Kick-Event-Signature", "ñøñ-âscîî"),
    ],
    ids=["tampered_timestamp", "tampered_message_id", "garbage_base64", "short", "non_ascii"],
)
def test_tampered_header_is_rejected_as_bad_signature(
    public_key: RSAPublicKey, private_key: RSAPrivateKey, header: str, value: str
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=NOW)
    rejected = reject(public_key, headers | {header: value}, body)
    assert (rejected.status, rejected.reason) == (401, "bad_signature")


def test_tampered_body_is_rejected_as_bad_signature(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=NOW)
    rejected = reject(public_key, headers, body.replace(b"987654321", b"987654322"))
    assert (rejected.status, rejected.reason) == (401, "bad_signature")


def test_signature_of_another_body_is_rejected(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, b"{}", event_type="channel.followed", timestamp=NOW)
    assert reject(public_key, headers, body).reason == "bad_signature"


@pytest.mark.parametrize("signature", ["", "   ", "=", "AAAA\n", "////", None])
def test_verify_signature_returns_false_for_empty_or_undecodable_signature(
    public_key: RSAPublicKey, signature: Any
) -> None:
    headers = headers_with(signature=signature)
    assert verify_signature(public_key, headers, b"{}") is False


def test_empty_signature_header_is_rejected_as_missing_header(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=NOW)
    rejected = reject(public_key, headers | {"Kick-Event-Signature": ""}, body)
    assert (rejected.status, rejected.reason) == (400, "missing_headers")


def test_signature_is_checked_before_the_body_is_parsed(public_key: RSAPublicKey) -> None:
    headers = {
        "Kick-Event-Message-Id": MESSAGE_ID,
        "Kick-Event-Message-Timestamp": "2020-01-01T00:00:00Z",
        "Kick-Event-Signature": "AAAA",
        "Kick-Event-Type": "chat.message.sent",
    }
    rejected = reject(public_key, headers, b"not json")
    assert (rejected.status, rejected.reason) == (401, "bad_signature")


def test_timestamp_is_checked_before_the_body_is_parsed(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    stale = NOW - timedelta(hours=1)
    headers = signed_headers(private_key, b"not json", event_type="x", timestamp=stale)
    assert reject(public_key, headers, b"not json").reason == "stale_timestamp"


# Headers


@pytest.mark.parametrize("missing", REQUIRED_HEADERS)
def test_missing_required_header_is_rejected_with_400(
    public_key: RSAPublicKey, private_key: RSAPrivateKey, missing: str
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=NOW)
    del headers[missing]
    rejected = reject(public_key, headers, body)
    assert (rejected.status, rejected.reason) == (400, "missing_headers")
    assert missing in rejected.message


@pytest.mark.parametrize("empty", REQUIRED_HEADERS)
def test_empty_required_header_is_rejected_as_missing(empty: str) -> None:
    headers = dict.fromkeys(REQUIRED_HEADERS, "x") | {empty: " "}
    with pytest.raises(WebhookRejected) as caught:
        read_headers(headers)
    assert (caught.value.status, caught.value.reason) == (400, "missing_headers")
    assert caught.value.message == f"missing header(s): {empty}"


def test_all_missing_headers_are_named() -> None:
    with pytest.raises(WebhookRejected) as caught:
        read_headers({})
    assert caught.value.message == "missing header(s): " + ", ".join(REQUIRED_HEADERS)


def test_headers_are_read_case_insensitively_from_a_plain_dict() -> None:
    headers = read_headers(
        {
            "kick-event-message-id": "m",
            "KICK-EVENT-MESSAGE-TIMESTAMP": "t",
            "Kick-Event-Signature": "s",
            "kick-event-type": "chat.message.sent",
            "kick-event-version": "1",
            "kick-event-subscription-id": "sub",
        }
    )
    assert headers == WebhookHeaders("m", "t", "s", "chat.message.sent", "1", "sub")


def test_headers_are_read_from_werkzeug_headers() -> None:
    werkzeug_headers = Headers(
        [
            ("kick-event-message-id", "m"),
            ("Kick-Event-Message-Timestamp", "t"),
            ("kick-event-signature", "s"),
            ("Kick-Event-Type", "kicks.gifted"),
        ]
    )
    headers = read_headers(werkzeug_headers)  # type: ignore[arg-type]
    assert headers == WebhookHeaders("m", "t", "s", "kicks.gifted", None, None)


# Timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-01T07:56:19Z", NOW),
        ("2025-04-01t07:56:19z", NOW),
        ("2025-04-01T18:56:19+11:00", NOW),
        ("2025-04-01T03:26:19-04:30", NOW),
        ("2025-04-01T07:56:19.25Z", NOW + timedelta(microseconds=250000)),
        ("2025-04-01T07:56:18.123456789Z", NOW - timedelta(microseconds=876544)),
        ("2025-04-01 07:56:19+00:00", NOW),
        ("2025-04-01T07:56:19", NOW),
    ],
)
def test_timestamp_formats_parse_into_aware_utc(text: str, expected: datetime) -> None:
    sent_at = check_timestamp(headers_with(timestamp=text), now=NOW, max_age_seconds=MAX_AGE)
    assert sent_at == expected
    assert sent_at.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2025-04-01", "2025-13-01T00:00:00Z", "2025-04-01T07:56:19+25:00"]
)
def test_unparseable_timestamp_is_rejected_with_400(text: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        check_timestamp(headers_with(timestamp=text), now=NOW, max_age_seconds=MAX_AGE)
    assert (caught.value.status, caught.value.reason) == (400, "bad_timestamp")


@pytest.mark.parametrize(
    ("sent_at", "max_age_seconds", "reason"),
    [
        (NOW - timedelta(seconds=MAX_AGE + 1), MAX_AGE, "stale_timestamp"),
        (NOW + timedelta(seconds=61), MAX_AGE, "future_timestamp"),
        (NOW + timedelta(seconds=61), 0, "future_timestamp"),
    ],
)
def test_timestamp_out_of_window_is_rejected_with_401(
    public_key: RSAPublicKey,
    private_key: RSAPrivateKey,
    sent_at: datetime,
    max_age_seconds: int,
    reason: str,
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=sent_at)
    rejected = reject(public_key, headers, body, max_age_seconds=max_age_seconds)
    assert (rejected.status, rejected.reason) == (401, reason)


@pytest.mark.parametrize(
    ("sent_at", "max_age_seconds"),
    [
        (NOW - timedelta(seconds=MAX_AGE), MAX_AGE),
        (NOW - timedelta(days=365), 0),
        (NOW + timedelta(seconds=60), MAX_AGE),
    ],
    ids=["exactly_max_age", "age_check_off", "60_s_ahead"],
)
def test_timestamp_inside_window_is_accepted(
    public_key: RSAPublicKey, private_key: RSAPrivateKey, sent_at: datetime, max_age_seconds: int
) -> None:
    body = fixture_body("channel.followed")
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=sent_at)
    kick_headers, _ = deliver(public_key, headers, body, max_age_seconds=max_age_seconds)
    assert kick_headers.timestamp == format_timestamp(sent_at)


def test_signed_unparseable_timestamp_is_rejected_with_400(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    body = fixture_body("channel.followed")
    headers = {
        "Kick-Event-Message-Id": MESSAGE_ID,
        "Kick-Event-Message-Timestamp": "last tuesday",
        "Kick-Event-Signature": sign(private_key, MESSAGE_ID, "last tuesday", body),
        "Kick-Event-Type": "channel.followed",
    }
    rejected = reject(public_key, headers, body)
    assert (rejected.status, rejected.reason) == (400, "bad_timestamp")


# Body


def test_body_over_one_mebibyte_is_rejected_with_413_before_anything_else(
    public_key: RSAPublicKey,
) -> None:
    rejected = reject(public_key, {}, b" " * (MAX_BODY_BYTES + 1))
    assert (rejected.status, rejected.reason) == (413, "too_large")


def test_body_of_exactly_one_mebibyte_is_accepted(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    body = fixture_body("channel.followed")
    body += b" " * (MAX_BODY_BYTES - len(body))
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=NOW)
    _, payload = deliver(public_key, headers, body)
    assert payload == fixture_payload("channel.followed")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe{}", b"", b"null", b"42", b"[" * 100_000],
    ids=["not_json", "array", "string", "invalid_utf8", "empty", "null", "number", "deep"],
)
def test_signed_body_that_is_not_a_json_object_is_rejected_with_400(
    public_key: RSAPublicKey, private_key: RSAPrivateKey, body: bytes
) -> None:
    headers = signed_headers(private_key, body, event_type="channel.followed", timestamp=NOW)
    rejected = reject(public_key, headers, body)
    assert (rejected.status, rejected.reason) == (400, "not_json_object")


# Parsing


@pytest.mark.parametrize("event_type", ["channel.raided", "", "CHAT.MESSAGE.SENT"])
def test_unknown_event_type_parses_into_none(event_type: str) -> None:
    assert parse(event_type, fixture_payload("chat.message.sent")) is None


@pytest.mark.parametrize("event_type", sorted(KICK_EVENT_TYPES))
@pytest.mark.parametrize("broadcaster", [None, "x", {}, {"user_id": None}, {"user_id": ""}])
def test_payload_without_broadcaster_user_id_is_unusable(event_type: str, broadcaster: Any) -> None:
    with pytest.raises(UnusablePayload, match="broadcaster"):
        parse_fixture(event_type, broadcaster=broadcaster)


@pytest.mark.parametrize(
    ("event_type", "role"),
    [
        ("chat.message.sent", "sender"),
        ("channel.followed", "follower"),
        ("channel.subscription.new", "subscriber"),
        ("channel.subscription.renewal", "subscriber"),
        ("channel.reward.redemption.updated", "redeemer"),
        ("moderation.banned", "banned_user"),
        ("kicks.gifted", "sender"),
    ],
)
@pytest.mark.parametrize("user", [None, {"username": "someone"}, {"user_id": True}, []])
def test_required_viewer_without_user_id_is_unusable(event_type: str, role: str, user: Any) -> None:
    with pytest.raises(UnusablePayload, match=role) as caught:
        parse_fixture(event_type, **{role: user})
    assert caught.value.reason == f"no {role} user id"


@pytest.mark.parametrize("payload", [[], "x", None, 5])
def test_payload_that_is_not_a_mapping_is_unusable(payload: Any) -> None:
    with pytest.raises(UnusablePayload):
        parse_event("chat.message.sent", payload, message_id=MESSAGE_ID, delivered_at=NOW)


@pytest.mark.parametrize(
    ("event_type", "natural_id_key"),
    [("chat.message.sent", "message_id"), ("channel.reward.redemption.updated", "id")],
)
@pytest.mark.parametrize("natural_id", [None, "", "  ", {}])
def test_missing_natural_id_falls_back_to_message_id(
    event_type: str, natural_id_key: str, natural_id: Any
) -> None:
    event = parse_fixture(event_type, **{natural_id_key: natural_id})
    assert event is not None
    assert event.event_id == MESSAGE_ID


@pytest.mark.parametrize(
    ("event_type", "natural_id_key"),
    [("chat.message.sent", "message_id"), ("channel.reward.redemption.updated", "id")],
)
@pytest.mark.parametrize(
    "natural_id", [7.5, 1e308, 10**40, "x" * 65, "\ud800", "a\x00b", "has space", "ünï"]
)
def test_a_natural_id_that_is_no_id_is_refused_not_cut_or_stringified(
    event_type: str, natural_id_key: str, natural_id: Any
) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_fixture(event_type, **{natural_id_key: natural_id})
    assert caught.value.reason.startswith(natural_id_key)


@pytest.mark.parametrize("role", ["sender", "broadcaster"])
@pytest.mark.parametrize("user_id", [1e308, "9" * 65, "\ud800", "1\x00"])
def test_a_user_id_that_is_no_id_is_refused(role: str, user_id: Any) -> None:
    user = fixture_payload("chat.message.sent")[role] | {"user_id": user_id}
    with pytest.raises(InvalidPayload) as caught:
        parse_fixture("chat.message.sent", **{role: user})
    assert caught.value.reason.startswith(f"{role}.user_id")


def test_free_text_is_cleaned_and_bounded_never_refused() -> None:
    sender = fixture_payload("chat.message.sent")["sender"] | {"username": "n\ud800\x00" * 90}
    event = parse_fixture("chat.message.sent", content="hi\x00\udfff" * 5000, sender=sender)
    assert isinstance(event, ChatMessageSent)
    assert event.content.startswith("hi\ufffdhi\ufffd")
    assert len(event.content) == 2000
    assert event.viewer.username.startswith("n\ufffdn\ufffd")
    assert len(event.viewer.username) == 100


def test_reward_redemption_gets_a_new_key_per_status() -> None:
    events = [
        parse_fixture("channel.reward.redemption.updated", status=status)
        for status in ("pending", "ACCEPTED", None)
    ]
    assert [(event.key, event.status) for event in events if isinstance(event, RewardRedeemed)] == [
        ("kick:reward_redeemed:01KBHE78QE4HZY1617DK5FC7YD:pending", "pending"),
        ("kick:reward_redeemed:01KBHE78QE4HZY1617DK5FC7YD:accepted", "accepted"),
        ("kick:reward_redeemed:01KBHE78QE4HZY1617DK5FC7YD:pending", "pending"),
    ]
    assert {event.redemption_id for event in events} == {"01KBHE78QE4HZY1617DK5FC7YD"}


def test_real_delivery_user_shape_with_null_is_verified_and_no_identity_parses() -> None:
    payload = fixture_payload("chat.message.sent")
    for role in ("broadcaster", "sender"):
        payload[role]["is_verified"] = None
    del payload["sender"]["identity"]
    event = parse("chat.message.sent", payload)
    assert isinstance(event, ChatMessageSent)
    assert event.viewer == Viewer("987654321", "sender_name")
    assert event.badges == ()


@pytest.mark.parametrize("identity", [None, {}, {"badges": None}, {"badges": "moderator"}, "x"])
def test_chat_sender_without_usable_identity_has_no_badges(identity: Any) -> None:
    payload = fixture_payload("chat.message.sent")
    payload["sender"]["identity"] = identity
    event = parse("chat.message.sent", payload)
    assert isinstance(event, ChatMessageSent)
    assert event.badges == ()


def test_badges_without_a_type_are_skipped() -> None:
    payload = fixture_payload("chat.message.sent")
    payload["sender"]["identity"]["badges"] = [{"text": "VIP"}, None, {"type": "vip"}, "x"]
    event = parse("chat.message.sent", payload)
    assert isinstance(event, ChatMessageSent)
    assert event.badges == ("vip",)


def test_gift_with_identity_null_on_every_user_parses() -> None:
    payload = fixture_payload("channel.subscription.gifts")
    payload["giftees"].append(dict(payload["giftees"][0], user_id="561654655", identity=None))
    for user in (payload["broadcaster"], payload["gifter"], *payload["giftees"]):
        user["identity"] = None
        user["is_verified"] = None
    event = parse("channel.subscription.gifts", payload)
    assert isinstance(event, SubscriptionsGifted)
    assert event.gifter == Viewer("987654321", "gifter_name")
    assert [giftee.platform_user_id for giftee in event.giftees] == ["561654654", "561654655"]
    assert event.count == 2


def test_anonymous_gifter_with_all_null_fields_parses_into_no_gifter() -> None:
    gifter = dict.fromkeys(fixture_payload("channel.subscription.gifts")["gifter"]) | {
        "is_anonymous": True
    }
    event = parse_fixture("channel.subscription.gifts", gifter=gifter)
    assert isinstance(event, SubscriptionsGifted)
    assert event.gifter is None
    assert event.giftees == (Viewer("561654654", "giftee_name"),)


def test_anonymous_gifter_is_hidden_even_when_kick_sends_its_id() -> None:
    gifter = fixture_payload("channel.subscription.gifts")["gifter"] | {"is_anonymous": True}
    event = parse_fixture("channel.subscription.gifts", gifter=gifter)
    assert isinstance(event, SubscriptionsGifted)
    assert event.gifter is None


def test_giftees_without_user_id_are_skipped_but_counted() -> None:
    giftees = [{"user_id": 1, "username": "a"}, {"username": "b"}, None, {"user_id": "2"}]
    event = parse_fixture("channel.subscription.gifts", giftees=giftees)
    assert isinstance(event, SubscriptionsGifted)
    assert event.giftees == (Viewer("1", "a"), Viewer("2", ""))
    assert event.count == 4


def test_user_ids_sent_as_strings_or_floats_become_plain_strings() -> None:
    payload = fixture_payload("moderation.banned")
    payload["broadcaster"]["user_id"] = " 123456789 "
    payload["banned_user"]["user_id"] = "135790135"
    payload["moderator"]["user_id"] = 987654321.0
    event = parse("moderation.banned", payload)
    assert isinstance(event, ViewerBanned)
    assert event.broadcaster_user_id == "123456789"
    assert event.viewer.platform_user_id == "135790135"
    assert event.moderator == Viewer("987654321", "moderator_name")


@pytest.mark.parametrize(
    ("user", "username"),
    [
        ({"user_id": 1, "username": "name", "channel_slug": "slug"}, "name"),
        ({"user_id": 1, "username": None, "channel_slug": "slug"}, "slug"),
        ({"user_id": 1, "username": "", "channel_slug": "slug"}, "slug"),
        ({"user_id": 1}, ""),
        ({"user_id": 1, "username": 42}, "42"),
    ],
)
def test_username_falls_back_to_channel_slug_then_empty(
    user: dict[str, Any], username: str
) -> None:
    event = parse_fixture("channel.followed", follower=user)
    assert isinstance(event, Followed)
    assert event.viewer == Viewer("1", username)


@pytest.mark.parametrize(
    ("event_type", "time_change"),
    [
        ("chat.message.sent", {"created_at": None}),
        ("channel.subscription.new", {"created_at": "soon"}),
        ("channel.subscription.gifts", {"created_at": []}),
        ("channel.reward.redemption.updated", {"redeemed_at": None}),
        ("livestream.status.updated", {"started_at": None}),
        ("livestream.status.updated", {"is_live": False, "ended_at": "later"}),
        ("moderation.banned", {"metadata": {"reason": "spam"}}),
        ("kicks.gifted", {"created_at": ""}),
    ],
)
def test_missing_or_unreadable_time_falls_back_to_delivery_time(
    event_type: str, time_change: dict[str, Any]
) -> None:
    event = parse_fixture(event_type, **time_change)
    assert event is not None
    assert event.occurred_at == DELIVERED_AT


def test_missing_created_at_falls_back_to_delivery_time() -> None:
    payload = fixture_payload("chat.message.sent")
    del payload["created_at"]
    event = parse("chat.message.sent", payload)
    assert event is not None
    assert event.occurred_at == DELIVERED_AT


@pytest.mark.parametrize("created_at", ["2099-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59"])
def test_far_future_created_at_is_clamped_to_delivery_time(created_at: str) -> None:
    event = parse_fixture("chat.message.sent", created_at=created_at)
    assert event is not None
    assert event.occurred_at == DELIVERED_AT


def test_naive_delivery_time_is_taken_as_utc() -> None:
    event = parse_event(
        "channel.followed",
        fixture_payload("channel.followed"),
        message_id=MESSAGE_ID,
        delivered_at=datetime(2026, 1, 1),  # noqa: DTZ001
    )
    assert event is not None
    assert event.occurred_at == DELIVERED_AT


@pytest.mark.parametrize(
    ("changes", "started"),
    [
        ({"is_live": True, "ended_at": "2025-01-01T15:00:00+11:00"}, True),
        ({"is_live": "false"}, False),
        ({"is_live": None, "ended_at": "2025-01-01T15:00:00+11:00"}, False),
        ({"is_live": None, "ended_at": None}, True),
        ({"is_live": "maybe", "ended_at": ""}, True),
        ({"is_live": 0}, False),
    ],
)
def test_live_status_decides_start_or_end(changes: dict[str, Any], started: bool) -> None:
    event = parse_fixture("livestream.status.updated", **changes)
    assert isinstance(event, StreamStarted if started else StreamEnded)


def test_permanent_ban_has_no_expiry_and_moderator_is_optional() -> None:
    event = parse_fixture(
        "moderation.banned", moderator=None, metadata={"reason": None, "expires_at": None}
    )
    assert isinstance(event, ViewerBanned)
    assert (event.expires_at, event.moderator, event.reason) == (None, None, "")


@pytest.mark.parametrize(
    ("category", "expected"),
    [({"name": "Just Chatting"}, "Just Chatting"), ("IRL", "IRL"), (None, None), (5, None)],
)
def test_metadata_category_is_read_from_object_or_plain_name(category: Any, expected: Any) -> None:
    metadata = fixture_payload("livestream.metadata.updated")["metadata"] | {"category": category}
    event = parse_fixture("livestream.metadata.updated", metadata=metadata)
    assert isinstance(event, StreamMetadataUpdated)
    assert event.category == expected


@pytest.mark.parametrize(
    ("duration", "months"), [("3", 3), (2.0, 2), ("three", None), (True, None), (None, None)]
)
def test_subscription_months_are_read_leniently(duration: Any, months: int | None) -> None:
    event = parse_fixture("channel.subscription.new", duration=duration)
    assert isinstance(event, Subscribed)
    assert event.months == months


MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("chat.message.sent", {"broadcaster": "x"}),
    ("chat.message.sent", {"sender": {"user_id": 1, "identity": {"badges": None}}}),
    ("chat.message.sent", {"sender": {"user_id": 1, "identity": {"badges": [None, 5, []]}}}),
    ("chat.message.sent", {"replies_to": "x", "content": None, "emotes": 5}),
    ("chat.message.sent", {"message_id": {"a": 1}, "content": 12, "created_at": 10**30}),
    ("chat.message.sent", {"created_at": float("nan")}),
    ("channel.followed", {"follower": "987654321"}),
    ("channel.subscription.new", {"duration": "1e999", "expires_at": 5}),
    ("channel.subscription.renewal", {"subscriber": [], "created_at": None}),
    ("channel.subscription.gifts", {"giftees": 5}),
    ("channel.subscription.gifts", {"giftees": None, "gifter": None}),
    ("channel.subscription.gifts", {"giftees": {"user_id": 1}, "gifter": "anonymous"}),
    ("channel.subscription.gifts", {"gifter": {"is_anonymous": "yes", "user_id": None}}),
    ("channel.reward.redemption.updated", {"reward": 5, "status": 3, "user_input": None}),
    ("channel.reward.redemption.updated", {"reward": {"cost": "free", "id": []}}),
    ("livestream.status.updated", {"is_live": [], "title": None, "ended_at": 5}),
    ("livestream.status.updated", {"started_at": "2025-02-30T00:00:00Z"}),
    ("livestream.metadata.updated", {"metadata": "x"}),
    ("livestream.metadata.updated", {"metadata": {"category": [], "has_mature_content": "?"}}),
    ("moderation.banned", {"metadata": None, "moderator": 5}),
    ("moderation.banned", {"banned_user": {"user_id": None}}),
    ("moderation.banned", {"metadata": {"expires_at": "never", "created_at": {}}}),
    ("kicks.gifted", {"gift": None}),
    ("kicks.gifted", {"gift": {"amount": "lots", "name": [], "message": {}}}),
    ("kicks.gifted", {"sender": {"user_id": float("inf")}}),
]


@pytest.mark.parametrize(("event_type", "changes"), MALFORMED)
def test_malformed_payload_gives_an_event_or_unusable_payload(
    event_type: str, changes: dict[str, Any]
) -> None:
    try:
        event = parse_fixture(event_type, **changes)
    except (UnusablePayload, InvalidPayload):
        return
    assert isinstance(event, Event)


JUNK: list[Any] = [None, "", "x", 0, -1.5, True, [], [None], {}, {"user_id": None}, 10**40]


def paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def replaced(payload: dict[str, Any], path: tuple[str | int, ...], junk: Any) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    parent: Any = result
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = junk
    return result


@pytest.mark.parametrize("event_type", sorted(KICK_EVENT_TYPES))
def test_any_field_replaced_by_junk_gives_an_event_or_unusable_payload(event_type: str) -> None:
    payload = fixture_payload(event_type)
    outcomes: set[str] = set()
    for path in paths(payload):
        for junk in JUNK:
            try:
                event = parse(event_type, replaced(payload, path, junk))
            except UnusablePayload:
                outcomes.add("unusable")
                continue
            except InvalidPayload:  # 10**40 or -1.5 where an id is expected
                outcomes.add("invalid")
                continue
            assert isinstance(event, Event), (path, junk)
            assert event.occurred_at.tzinfo is UTC, (path, junk)
            assert event.occurred_at <= DELIVERED_AT, (path, junk)
            assert event_from_dict(event_to_dict(event)) == event, (path, junk)
            outcomes.add("event")
    assert outcomes == {"event", "unusable", "invalid"}


# Public key loading


def test_public_key_loads_from_pem_text(key_pair: tuple[RSAPrivateKey, str]) -> None:
    private_key, pem = key_pair
    key = load_public_key(pem)
    assert key.public_numbers() == private_key.public_key().public_numbers()


def test_public_key_loads_from_pem_text_with_escaped_newlines(
    key_pair: tuple[RSAPrivateKey, str],
) -> None:
    private_key, pem = key_pair
    key = load_public_key(pem.strip().replace("\n", "\\n"))
    assert key.public_numbers() == private_key.public_key().public_numbers()


def test_public_key_loads_from_a_path(key_pair: tuple[RSAPrivateKey, str], tmp_path: Path) -> None:
    private_key, pem = key_pair
    path = tmp_path / "kick.pem"
    path.write_text(pem)
    key = load_public_key(str(path))
    assert key.public_numbers() == private_key.public_key().public_numbers()


@pytest.mark.parametrize("setting", [None, "", "  "])
def test_no_setting_loads_the_bundled_kick_key(setting: str | None) -> None:
    bundled = load_public_key(setting)
    published = load_public_key(str(FIXTURES / "kick-public-key.pem"))
    assert bundled.public_numbers() == published.public_numbers()


def test_garbage_pem_text_is_a_value_error() -> None:
    with pytest.raises(
        ValueError, match=r"^KICK_WEBHOOK_PUBLIC_KEY: PEM text is not a PEM public key$"
    ):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")


def test_missing_key_file_is_a_value_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.pem"
    with pytest.raises(ValueError, match="cannot read key file") as caught:
        load_public_key(str(path))
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_key_file_with_garbage_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pem"
    path.write_bytes(b"\x00\x01 definitely not PEM")
    with pytest.raises(ValueError, match="is not a PEM public key"):
        load_public_key(str(path))


def test_private_key_pem_is_a_value_error(private_key: RSAPrivateKey) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(ValueError, match="is not a PEM public key"):
        load_public_key(pem)


def test_non_rsa_public_key_is_a_value_error() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="is not an RSA public key"):
        load_public_key(pem)


KEY = "KICK_WEBHOOK_PUBLIC_KEY"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("~0", f"{KEY}: no home directory for '~0'"),
        ("~unknownuser/key.pem", f"{KEY}: no home directory for '~unknownuser/key.pem'"),
        ("~\x00", f"{KEY}: no home directory for '~\\x00'"),
        ("/nonexistent/\x00.pem", f"{KEY}: key file '/nonexistent/\\x00.pem' is not a file name"),
        ("/nonexistent/\ud800", f"{KEY}: key file '/nonexistent/\\ud800' is not a file name"),
        ("-----BEGIN PUBLIC KEY-----\ud800", f"{KEY}: PEM text is not a PEM public key"),
    ],
)
def test_a_key_setting_no_file_can_answer_is_a_value_error_naming_it(setting, message) -> None:
    # "~0" once raised RuntimeError ("Could not determine home directory"), not ValueError.
    with pytest.raises(ValueError, match=f"^{KEY}: ") as caught:
        load_public_key(setting)
    assert str(caught.value) == message


def test_a_key_file_larger_than_any_key_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.pem"
    path.write_bytes(b"-" * 100_000)
    with pytest.raises(ValueError, match=r"is over 65,536 bytes, no key$"):
        load_public_key(str(path))


@given(
    st.one_of(
        st.text(st.characters(exclude_categories=()), max_size=60),
        st.text(st.characters(exclude_categories=()), max_size=60).map(lambda t: "~" + t),
        st.text(st.characters(exclude_categories=()), max_size=60).map(
            lambda t: "-----BEGIN PUBLIC KEY-----" + t
        ),
    )
)
def test_any_key_setting_is_a_key_or_a_one_line_value_error(setting: str) -> None:
    try:
        key = load_public_key(setting)
    except ValueError as refused:
        message = str(refused)
    else:
        assert isinstance(key, RSAPublicKey)
        return
    assert message.startswith("KICK_WEBHOOK_PUBLIC_KEY: ")
    assert "\n" not in message
    message.encode()  # no lone surrogate: it can be printed


# Signing helper


def test_generated_message_ids_look_like_ulids() -> None:
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(value) == 26 and value[0] in "01234567" for value in ids)
    assert all(set(value) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for value in ids)


def test_signed_headers_default_to_a_fresh_id_and_the_current_time(
    public_key: RSAPublicKey, private_key: RSAPrivateKey
) -> None:
    body = fixture_body("kicks.gifted")
    before = datetime.now(UTC).replace(microsecond=0)
    headers = signed_headers(private_key, body, event_type="kicks.gifted")
    kick_headers = read_headers(headers)
    sent_at = check_timestamp(kick_headers, now=datetime.now(UTC), max_age_seconds=MAX_AGE)
    assert before <= sent_at <= datetime.now(UTC)
    assert (
        kick_headers.message_id
        != signed_headers(private_key, body, event_type="x")["Kick-Event-Message-Id"]
    )
    assert verify_signature(public_key, kick_headers, body)
