"""Verifying Twitch EventSub deliveries: Twitch's own signature vectors, the order of the checks,
the 10-minute window, and what each refusal answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core.platforms.lenient import parse_time_text
from core.platforms.twitch.webhook import (
    WebhookRejected,
    read_headers,
    revocation_of,
    signature_of,
    verify_delivery,
    verify_signature,
)
from tests.conftest import FIXTURES

VECTORS = json.loads((FIXTURES / "twitch" / "signature_vectors.json").read_text())["vectors"]


def sent_at(vector):  # type: ignore[no-untyped-def]
    return parse_time_text(vector["headers"]["Twitch-Eventsub-Message-Timestamp"])


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_twitchs_signature_vectors_verify(vector):
    headers = read_headers(vector["headers"])
    body = vector["raw_body"].encode()
    assert (
        signature_of(vector["secret"], headers.message_id, headers.timestamp, body)
        == (vector["expected_signature"])
    )
    assert verify_signature(vector["secret"], headers, body)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_a_changed_byte_or_another_secret_does_not_verify(vector):
    headers = read_headers(vector["headers"])
    body = vector["raw_body"].encode()
    assert not verify_signature(vector["secret"], headers, body + b" ")
    assert not verify_signature(vector["secret"] + "x", headers, body)
    reserialized = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    assert not verify_signature(vector["secret"], headers, reserialized)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_a_vector_is_accepted_within_ten_minutes_and_refused_after(vector):
    body = vector["raw_body"].encode()
    fresh = verify_delivery(
        vector["headers"], body, secret=vector["secret"], now=sent_at(vector) + timedelta(minutes=9)
    )
    assert fresh.message_type == vector["headers"]["Twitch-Eventsub-Message-Type"]
    assert fresh.subscription_type == vector["headers"]["Twitch-Eventsub-Subscription-Type"]

    with pytest.raises(WebhookRejected) as stale:
        verify_delivery(
            vector["headers"],
            body,
            secret=vector["secret"],
            now=sent_at(vector) + timedelta(minutes=10, seconds=1),
        )
    assert (stale.value.status, stale.value.reason) == (403, "stale_timestamp")


def test_header_names_are_read_in_any_case():
    vector = VECTORS[0]
    lowered = {name.lower(): value for name, value in vector["headers"].items()}
    assert read_headers(lowered) == read_headers(vector["headers"])


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"Twitch-Eventsub-Message-Signature": None}, 403, "missing_signature"),
        ({"Twitch-Eventsub-Message-Signature": "sha256=00"}, 403, "bad_signature"),
        ({"Twitch-Eventsub-Message-Signature": "sha256=\u00e9\u2603"}, 403, "bad_signature"),
        ({"Twitch-Eventsub-Message-Id": None}, 400, "missing_headers"),
        ({"Twitch-Eventsub-Message-Timestamp": None}, 400, "missing_headers"),
        ({"Twitch-Eventsub-Message-Type": None}, 400, "missing_headers"),
        ({"Twitch-Eventsub-Message-Id": "x" * 65}, 400, "bad_message_id"),
        ({"Twitch-Eventsub-Message-Id": "caf\u00e9"}, 400, "bad_message_id"),
        # Signed by the sender, but changed on the way: the signature no longer matches.
        ({"Twitch-Eventsub-Message-Timestamp": "2021-02-19T23:47:01Z"}, 403, "bad_signature"),
    ],
)
def test_each_bad_header_gets_its_status(change, status, reason):
    vector = VECTORS[0]
    headers = {**vector["headers"]}
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(WebhookRejected) as rejected:
        verify_delivery(
            headers, vector["raw_body"].encode(), secret=vector["secret"], now=sent_at(vector)
        )
    assert (rejected.value.status, rejected.value.reason) == (status, reason)


def test_without_a_secret_everything_is_refused():
    vector = VECTORS[0]
    with pytest.raises(WebhookRejected) as rejected:
        verify_delivery(
            vector["headers"], vector["raw_body"].encode(), secret=None, now=sent_at(vector)
        )
    assert (rejected.value.status, rejected.value.reason) == (403, "not_configured")


def _signed(body: bytes, timestamp: str = "2030-01-01T00:00:00.123456789Z"):  # type: ignore[no-untyped-def]
    headers = {
        "Twitch-Eventsub-Message-Id": "m-1",
        "Twitch-Eventsub-Message-Timestamp": timestamp,
        "Twitch-Eventsub-Message-Type": "notification",
    }
    headers["Twitch-Eventsub-Message-Signature"] = signature_of(
        "s3cret-key", "m-1", timestamp, body
    )
    return headers


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"[1, 2]", 400, "not_json_object"),
        (b"not json", 400, "not_json_object"),
        (b"\xff\xfe", 400, "not_json_object"),
        (b"{" * 100_000, 400, "not_json_object"),
        (b" " * (1024 * 1024 + 1), 413, "too_large"),
    ],
)
def test_a_signed_body_that_is_no_json_object_or_too_big_is_refused(body, status, reason):
    now = parse_time_text("2030-01-01T00:00:01Z")
    with pytest.raises(WebhookRejected) as rejected:
        verify_delivery(_signed(body), body, secret="s3cret-key", now=now)
    assert (rejected.value.status, rejected.value.reason) == (status, reason)


def test_a_timestamp_from_the_future_or_unreadable_is_refused():
    body = b"{}"
    now = parse_time_text("2030-01-01T00:00:00Z")
    for timestamp, reason in [
        ("2030-01-01T00:05:00Z", "future_timestamp"),
        ("yesterday", "bad_timestamp"),
    ]:
        with pytest.raises(WebhookRejected) as rejected:
            verify_delivery(_signed(body, timestamp), body, secret="s3cret-key", now=now)
        assert (rejected.value.status, rejected.value.reason) == (403, reason)


def test_a_revocation_names_the_subscription_and_why():
    body = (FIXTURES / "twitch" / "revocation.json").read_bytes()
    headers = {**_signed(body), "Twitch-Eventsub-Message-Type": "revocation"}
    now = parse_time_text("2030-01-01T00:00:01Z")
    delivery = verify_delivery(headers, body, secret="s3cret-key", now=now)
    revocation = revocation_of(delivery)
    assert revocation is not None
    assert (
        revocation.subscription_id,
        revocation.subscription_type,
        revocation.status,
        revocation.broadcaster_user_id,
    ) == (
        "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
        "channel.follow",
        "authorization_revoked",
        "12826",
    )
