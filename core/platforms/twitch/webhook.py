"""Twitch EventSub webhooks: check a delivery (size, headers, signature, timestamp, JSON), pure
functions of the headers, the raw body and the secret.

Twitch signs ``message_id + timestamp + raw_body`` with HMAC-SHA256 under the secret given when
the subscription was made (``TWITCH_EVENTSUB_SECRET``) and sends ``sha256=<hex>`` in
``Twitch-Eventsub-Message-Signature``. Turning a verified notification into an event is
:mod:`core.platforms.twitch.notifications`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.events import utc
from core.platforms.lenient import as_id, as_mapping, as_text
from core.platforms.twitch.conditions import channel_field
from core.platforms.webhook_checks import (
    MAX_BODY_BYTES,
    MAX_FUTURE_SKEW_SECONDS,
    WebhookRejected,
    check_sent_at,
    check_size,
    json_object,
    required_headers,
)
from core.platforms.webhook_checks import header as _header

MAX_AGE_SECONDS = 600  # Twitch: drop anything older than 10 minutes

MESSAGE_ID_HEADER = "Twitch-Eventsub-Message-Id"
TIMESTAMP_HEADER = "Twitch-Eventsub-Message-Timestamp"
SIGNATURE_HEADER = "Twitch-Eventsub-Message-Signature"
MESSAGE_TYPE_HEADER = "Twitch-Eventsub-Message-Type"
SUBSCRIPTION_TYPE_HEADER = "Twitch-Eventsub-Subscription-Type"

NOTIFICATION = "notification"
VERIFICATION = "webhook_callback_verification"
REVOCATION = "revocation"


@dataclass(frozen=True)
class WebhookHeaders:
    message_id: str
    timestamp: str
    signature: str
    message_type: str
    subscription_type: str | None  # not signed: the body's subscription.type is what counts


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: its headers, when Twitch sent it, and the body as a JSON object."""

    headers: WebhookHeaders
    sent_at: datetime
    body: dict[str, Any]

    @property
    def message_id(self) -> str:
        return self.headers.message_id

    @property
    def message_type(self) -> str:
        return self.headers.message_type

    @property
    def subscription(self) -> Mapping[str, Any]:
        return as_mapping(self.body.get("subscription"))

    @property
    def subscription_type(self) -> str:
        """The body's ``subscription.type`` (covered by the signature), else the header's."""
        return as_text(self.subscription.get("type"), 100) or self.headers.subscription_type or ""


@dataclass(frozen=True)
class Revocation:
    """Twitch stopped a subscription: ``status`` says why (``authorization_revoked``,
    ``user_removed``, ``notification_failures_exceeded``, ``version_removed``, ...)."""

    subscription_id: str
    subscription_type: str
    status: str
    broadcaster_user_id: str | None
    revoked_at: datetime


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """Pick Twitch's headers out of ``headers``, whatever the case of their names.

    A missing message id, timestamp or message type is a malformed request (400); a missing
    signature is an unauthenticated one (403).
    """
    required = (MESSAGE_ID_HEADER, TIMESTAMP_HEADER, MESSAGE_TYPE_HEADER)
    values, message_id = required_headers(
        headers, required, message_id_header=MESSAGE_ID_HEADER, word_headers=(MESSAGE_TYPE_HEADER,)
    )
    signature = _header(headers, SIGNATURE_HEADER)
    if signature is None:
        raise WebhookRejected(403, "missing_signature", f"missing header: {SIGNATURE_HEADER}")
    return WebhookHeaders(
        message_id=message_id,
        timestamp=values[TIMESTAMP_HEADER],
        signature=signature,
        message_type=(as_text(values[MESSAGE_TYPE_HEADER], 64) or "").lower(),
        subscription_type=as_id(_header(headers, SUBSCRIPTION_TYPE_HEADER), limit=100),
    )


def signature_of(secret: str, message_id: str, timestamp: str, raw_body: bytes) -> str:
    """``sha256=<hex>``: what Twitch sends for this message id, timestamp and body."""
    signed = _utf8(message_id) + _utf8(timestamp) + raw_body
    return "sha256=" + hmac.new(_utf8(secret), signed, hashlib.sha256).hexdigest()


def verify_signature(secret: str, headers: WebhookHeaders, raw_body: bytes) -> bool:
    """Whether the signature is this secret's over the message id, timestamp and body, in
    constant time. Never raises."""
    expected = signature_of(secret, headers.message_id, headers.timestamp, raw_body)
    return hmac.compare_digest(expected.encode("ascii"), _utf8(headers.signature))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def check_timestamp(
    headers: WebhookHeaders, *, now: datetime, max_age_seconds: int = MAX_AGE_SECONDS
) -> datetime:
    """When Twitch sent the message (aware UTC), if it is neither too old nor in the future.

    A timestamp that cannot be read cannot be shown to be fresh, so it is refused like a stale
    one (403).
    """
    return check_sent_at(
        headers.timestamp,
        header_name=TIMESTAMP_HEADER,
        now=now,
        max_age_seconds=max_age_seconds,
        unreadable_status=403,
        refused_status=403,
        stale_subject="message",
    )


def verify_delivery(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    secret: str | None,
    now: datetime,
    max_age_seconds: int = MAX_AGE_SECONDS,
) -> Delivery:
    """Check a delivery: size, headers, signature, timestamp, then JSON, in that order.

    Nothing from the body is parsed before the signature is verified. Without a secret nothing
    can be verified, so everything is refused (403). Raises :class:`WebhookRejected`.
    """
    check_size(raw_body)
    twitch_headers = read_headers(headers)
    if not secret:
        raise WebhookRejected(
            403, "not_configured", "TWITCH_EVENTSUB_SECRET is not set; nothing can be verified"
        )
    if not verify_signature(secret, twitch_headers, raw_body):
        raise WebhookRejected(403, "bad_signature", "signature does not match")
    sent_at = check_timestamp(twitch_headers, now=now, max_age_seconds=max_age_seconds)
    return Delivery(twitch_headers, min(sent_at, utc(now)), json_object(raw_body))


# A subscription's status in a notification or a verification, never in a revocation.
_LIVE_STATUSES = {"enabled", "webhook_callback_verification_pending"}


def shape_mismatch(delivery: Delivery) -> str | None:
    """Why the body is not what its message type says, or None when it is.

    The message-type header is not covered by the signature, so a captured notification could
    be sent again as a revocation (or a verification). Each type's body has its own shape:
    a notification has an ``event`` (``events`` when batched) and no challenge, a verification
    has a ``challenge`` and no event, and a revocation neither, with a subscription whose
    status says why it ended. Unknown message types are left to the caller.
    """
    body = delivery.body
    has_event = "event" in body or "events" in body
    has_challenge = "challenge" in body
    if delivery.message_type == NOTIFICATION:
        if not has_event or has_challenge:
            return "a notification must carry an event and no challenge"
    elif delivery.message_type == VERIFICATION:
        if not has_challenge or has_event:
            return "a callback verification must carry a challenge and no event"
    elif delivery.message_type == REVOCATION:
        status = as_text(delivery.subscription.get("status"), 64)
        if has_event or has_challenge or not status or status.strip() in _LIVE_STATUSES:
            return "a revocation carries no event or challenge, and its subscription's status"
    return None


def challenge_of(delivery: Delivery) -> str | None:
    """The challenge string to echo for a ``webhook_callback_verification``; None without one."""
    challenge = delivery.body.get("challenge")
    if not isinstance(challenge, str) or not challenge or len(challenge) > 1024:
        return None
    if not (challenge.isascii() and challenge.isprintable()):  # Twitch's are; echoed as bytes
        return None
    return challenge


def revocation_of(delivery: Delivery) -> Revocation | None:
    """The revoked subscription; None when the body names none (or no valid id)."""
    return read_revocation(delivery.subscription, revoked_at=delivery.sent_at)


def read_revocation(
    subscription: Mapping[str, Any], *, revoked_at: datetime, subscription_type: str = ""
) -> Revocation | None:
    """The ``subscription`` object of a revocation, from a webhook or an EventSub WebSocket
    frame; ``subscription_type`` stands in when the object names no type. None without a valid
    id."""
    subscription_id = as_id(subscription.get("id"))
    if subscription_id is None:
        return None
    condition = as_mapping(subscription.get("condition"))
    kind = (as_text(subscription.get("type"), 100) or subscription_type).strip()
    return Revocation(
        subscription_id=subscription_id,
        subscription_type=kind,
        status=(as_text(subscription.get("status"), 64) or "unknown").strip(),
        # the channel's field of the type (a raid's is to_broadcaster_user_id)
        broadcaster_user_id=as_id(condition.get(channel_field(kind))),
        revoked_at=revoked_at,
    )


__all__ = [
    "MAX_AGE_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_FUTURE_SKEW_SECONDS",
    "NOTIFICATION",
    "REVOCATION",
    "VERIFICATION",
    "Delivery",
    "Revocation",
    "WebhookHeaders",
    "WebhookRejected",
    "challenge_of",
    "check_timestamp",
    "read_headers",
    "read_revocation",
    "revocation_of",
    "shape_mismatch",
    "signature_of",
    "verify_delivery",
    "verify_signature",
]
