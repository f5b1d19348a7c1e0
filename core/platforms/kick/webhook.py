"""Kick webhooks: check a delivery (size, headers, signature, timestamp, JSON).
:mod:`core.platforms.kick.webhook_events` turns a checked payload into a normalized event.

Kick signs ``f"{message_id}.{timestamp}.".encode() + raw_body`` with RSA PKCS#1 v1.5 / SHA-256
and sends the base64 signature in ``Kick-Event-Signature``. The payload shapes are described in
:mod:`core.platforms.kick.payloads`; parsing treats every field as optional and of unknown type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from core.events import (
    utc,
)
from core.platforms.lenient import (
    BadValue,
    checked_id,
)
from core.platforms.lenient import as_id as _id
from core.platforms.lenient import parse_time_text as _parse_time_text

KICK_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "chat.message.sent",
        "channel.followed",
        "channel.subscription.new",
        "channel.subscription.renewal",
        "channel.subscription.gifts",
        "channel.reward.redemption.updated",
        "livestream.status.updated",
        "livestream.metadata.updated",
        "moderation.banned",
        "kicks.gifted",
    }
)
MAX_BODY_BYTES = 1024 * 1024
MAX_FUTURE_SKEW_SECONDS = 60

BUNDLED_PUBLIC_KEY_PATH = Path(__file__).with_name("kick-public-key.pem")

MESSAGE_ID_HEADER = "Kick-Event-Message-Id"
TIMESTAMP_HEADER = "Kick-Event-Message-Timestamp"
SIGNATURE_HEADER = "Kick-Event-Signature"
TYPE_HEADER = "Kick-Event-Type"
VERSION_HEADER = "Kick-Event-Version"
SUBSCRIPTION_ID_HEADER = "Kick-Event-Subscription-Id"


class WebhookRejected(Exception):
    """A delivery to refuse.

    ``status`` is the HTTP status to answer (400, 401 or 413); ``reason`` a short snake_case label
    for metrics and logs (``missing_headers``, ``bad_signature``, ``stale_timestamp``,
    ``future_timestamp``, ``bad_timestamp``, ``bad_message_id``, ``not_json_object``,
    ``too_large``); ``message`` plain words for the reply body.
    """

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


class UnusablePayload(Exception):
    """A verified JSON object from which no event can be built (e.g. no broadcaster user id)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidPayload(Exception):
    """A verified JSON object holding a value that can never be accepted: an id that is too
    long, not ASCII, holds a NUL or a lone surrogate, or is a number like ``1e308``. Unlike
    :class:`UnusablePayload` (200 "ignored") it is answered 400, since no retry can succeed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookHeaders:
    message_id: str
    timestamp: str
    signature: str
    event_type: str
    event_version: str | None
    subscription_id: str | None


def load_public_key(pem_or_path: str | None) -> RSAPublicKey:
    """Load Kick's RSA public key.

    None or "" means the key bundled next to this module. Text containing ``-----BEGIN`` is PEM
    (literal ``\\n`` escapes, as .env files often hold, are accepted); anything else is a file path.
    Raises ``ValueError`` with a one-line message when it is not a readable RSA public key.
    """
    if not pem_or_path or not pem_or_path.strip():
        source = f"bundled key file {BUNDLED_PUBLIC_KEY_PATH}"
        pem = _read_key_file(BUNDLED_PUBLIC_KEY_PATH, source)
    elif "-----BEGIN" in pem_or_path:
        source = "PEM text"
        text = pem_or_path.strip()
        if "\n" not in text and "\\n" in text:
            text = text.replace("\\n", "\n")
        pem = text.encode()
    else:
        path = Path(pem_or_path.strip()).expanduser()
        source = f"key file {path}"
        pem = _read_key_file(path, source)
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"Kick public key: {source} is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"Kick public key: {source} is not an RSA public key")
    return key


def _read_key_file(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"Kick public key: cannot read {source}: {exc.strerror}") from exc


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """Pick Kick's headers out of ``headers``, whatever the case of their names."""
    required = (MESSAGE_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, TYPE_HEADER)
    values = {name: _header(headers, name) for name in required}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise WebhookRejected(400, "missing_headers", f"missing header(s): {', '.join(missing)}")
    try:
        message_id = checked_id(values[MESSAGE_ID_HEADER]) or ""
    except BadValue as exc:
        raise WebhookRejected(
            400, "bad_message_id", f"{MESSAGE_ID_HEADER} is not a valid message id: it {exc}"
        ) from exc
    return WebhookHeaders(
        message_id=message_id,
        timestamp=values[TIMESTAMP_HEADER] or "",
        signature=values[SIGNATURE_HEADER] or "",
        event_type=values[TYPE_HEADER] or "",
        event_version=_header(headers, VERSION_HEADER),
        # Only used to find a missing broadcaster: one we cannot read is as good as none.
        subscription_id=_id(_header(headers, SUBSCRIPTION_ID_HEADER)),
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value: object = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next(
            (v for k, v in headers.items() if isinstance(k, str) and k.lower() == wanted), None
        )
    if not isinstance(value, str):
        return None
    return value.strip() or None


def verify_signature(public_key: RSAPublicKey, headers: WebhookHeaders, raw_body: bytes) -> bool:
    """Whether Kick signed this message id, timestamp and body. Never raises."""
    try:
        signature = base64.b64decode(headers.signature, validate=True)
        signed = f"{headers.message_id}.{headers.timestamp}.".encode() + raw_body
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def check_timestamp(headers: WebhookHeaders, *, now: datetime, max_age_seconds: int) -> datetime:
    """The message timestamp as an aware UTC datetime, if it is neither too old nor in the future.

    Accepts RFC 3339 with ``Z`` or an offset and any number of fractional digits; a time without an
    offset is taken as UTC. ``max_age_seconds`` <= 0 turns the age check off; the future check
    (more than :data:`MAX_FUTURE_SKEW_SECONDS` ahead of ``now``) always applies.
    """
    sent_at = _parse_time_text(headers.timestamp)
    if sent_at is None:
        raise WebhookRejected(
            400, "bad_timestamp", f"unreadable {TIMESTAMP_HEADER}: {headers.timestamp!r:.60}"
        )
    age = (utc(now) - sent_at).total_seconds()
    if max_age_seconds > 0 and age > max_age_seconds:
        raise WebhookRejected(
            401,
            "stale_timestamp",
            f"message timestamp is {age:.0f} s old (limit {max_age_seconds} s)",
        )
    if -age > MAX_FUTURE_SKEW_SECONDS:
        raise WebhookRejected(
            401,
            "future_timestamp",
            f"message timestamp is {-age:.0f} s in the future (limit {MAX_FUTURE_SKEW_SECONDS} s)",
        )
    return sent_at


def verify_delivery(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    public_key: RSAPublicKey,
    now: datetime,
    max_age_seconds: int,
) -> tuple[WebhookHeaders, dict[str, Any]]:
    """Check a delivery: size, headers, signature, timestamp, then JSON, in that order.

    Nothing from the body is parsed before the signature is verified. Raises
    :class:`WebhookRejected`.
    """
    if len(raw_body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "too_large", f"body is over {MAX_BODY_BYTES} bytes")
    kick_headers = read_headers(headers)
    if not verify_signature(public_key, kick_headers, raw_body):
        raise WebhookRejected(401, "bad_signature", "signature does not match")
    check_timestamp(kick_headers, now=now, max_age_seconds=max_age_seconds)
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected(400, "not_json_object", "body is not a JSON object") from exc
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "not_json_object", "body is not a JSON object")
    return kick_headers, payload


__all__ = [
    "KICK_EVENT_TYPES",
    "MAX_BODY_BYTES",
    "MAX_FUTURE_SKEW_SECONDS",
    "InvalidPayload",
    "UnusablePayload",
    "WebhookHeaders",
    "WebhookRejected",
    "check_timestamp",
    "load_public_key",
    "read_headers",
    "verify_delivery",
    "verify_signature",
]
