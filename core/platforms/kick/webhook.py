"""Kick webhooks: check a delivery (size, headers, signature, timestamp, JSON).
:mod:`core.platforms.kick.webhook_events` turns a checked payload into a normalized event.

Kick signs ``f"{message_id}.{timestamp}.".encode() + raw_body`` with RSA PKCS#1 v1.5 / SHA-256
and sends the base64 signature in ``Kick-Event-Signature``. The payload shapes are Kick's
documented examples in ``tests/fixtures/kick/`` (see its README); parsing treats every field as
optional and of unknown type.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from core.platforms.lenient import as_id as _id
from core.platforms.webhook_checks import (
    MAX_BODY_BYTES,
    MAX_FUTURE_SKEW_SECONDS,
    InvalidPayload,
    UnusablePayload,
    WebhookRejected,
    check_sent_at,
    check_size,
    json_object,
    required_headers,
)
from core.platforms.webhook_checks import header as _header

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

BUNDLED_PUBLIC_KEY_PATH = Path(__file__).with_name("kick-public-key.pem")
KEY_SETTING = "KICK_WEBHOOK_PUBLIC_KEY"
MAX_KEY_FILE_BYTES = 64 * 1024  # a 4096-bit RSA public key in PEM is under 1 KiB

MESSAGE_ID_HEADER = "Kick-Event-Message-Id"
TIMESTAMP_HEADER = "Kick-Event-Message-Timestamp"
SIGNATURE_HEADER = "Kick-Event-Signature"
TYPE_HEADER = "Kick-Event-Type"
VERSION_HEADER = "Kick-Event-Version"
SUBSCRIPTION_ID_HEADER = "Kick-Event-Subscription-Id"


@dataclass(frozen=True)
class WebhookHeaders:
    message_id: str
    timestamp: str
    signature: str
    event_type: str
    event_version: str | None
    subscription_id: str | None


def load_public_key(pem_or_path: str | None) -> RSAPublicKey:
    """Load Kick's RSA public key, as the ``KICK_WEBHOOK_PUBLIC_KEY`` setting gives it.

    None or "" means the key bundled next to this module. Text containing ``-----BEGIN`` is PEM
    (literal ``\\n`` escapes, as .env files often hold, are accepted); anything else is a file path.
    Raises ``ValueError`` with a one-line message naming the setting when it is not a readable
    RSA public key, whatever the text (a ``~user`` of no one, NUL, a lone surrogate).
    """
    if not pem_or_path or not pem_or_path.strip():
        source = f"bundled key file {BUNDLED_PUBLIC_KEY_PATH}"
        pem = _read_key_file(BUNDLED_PUBLIC_KEY_PATH, source)
    elif "-----BEGIN" in pem_or_path:
        source = "PEM text"
        text = pem_or_path.strip()
        if "\n" not in text and "\\n" in text:
            text = text.replace("\\n", "\n")
        pem = text.encode(errors="replace")  # a lone surrogate becomes "?", in no PEM
    else:
        raw = pem_or_path.strip()
        try:
            path = Path(raw).expanduser()
        except (RuntimeError, ValueError) as exc:  # "~name" of no user (or NUL in it)
            raise ValueError(f"{KEY_SETTING}: no home directory for {_quoted(raw)}") from exc
        source = f"key file {_quoted(str(path))}"
        pem = _read_key_file(path, source)
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{KEY_SETTING}: {source} is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"{KEY_SETTING}: {source} is not an RSA public key")
    return key


def _read_key_file(path: Path, source: str) -> bytes:
    try:
        with path.open("rb") as file:
            pem = file.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{KEY_SETTING}: cannot read {source}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # NUL or a lone surrogate: no file has that name
        raise ValueError(f"{KEY_SETTING}: {source} is not a file name") from exc
    if len(pem) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"{KEY_SETTING}: {source} is over {MAX_KEY_FILE_BYTES:,} bytes, no key")
    return pem


def _quoted(text: str) -> str:
    """``text`` quoted on one line (newlines and lone surrogates escaped), cut when long."""
    return repr(text) if len(text) <= 100 else f"{text[:100]!r}..."


class KeyRing(Protocol):
    """Several keys a delivery may be signed with (``webhook_keys.WebhookKeys``)."""

    def verify(self, headers: WebhookHeaders, raw_body: bytes) -> bool: ...


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """Pick Kick's headers out of ``headers``, whatever the case of their names."""
    required = (MESSAGE_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, TYPE_HEADER)
    values, message_id = required_headers(
        headers, required, message_id_header=MESSAGE_ID_HEADER, word_headers=(TYPE_HEADER,)
    )
    return WebhookHeaders(
        message_id=message_id,
        timestamp=values[TIMESTAMP_HEADER],
        signature=values[SIGNATURE_HEADER],
        event_type=values[TYPE_HEADER],
        event_version=_header(headers, VERSION_HEADER),
        # Only used to find a missing broadcaster: one we cannot read is as good as none.
        subscription_id=_id(_header(headers, SUBSCRIPTION_ID_HEADER)),
    )


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
    return check_sent_at(
        headers.timestamp,
        header_name=TIMESTAMP_HEADER,
        now=now,
        max_age_seconds=max_age_seconds if max_age_seconds > 0 else None,
        unreadable_status=400,
        refused_status=401,
    )


def verify_delivery(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    public_key: RSAPublicKey | KeyRing,
    now: datetime,
    max_age_seconds: int,
) -> tuple[WebhookHeaders, dict[str, Any]]:
    """Check a delivery: size, headers, signature, timestamp, then JSON, in that order.

    Nothing from the body is parsed before the signature is verified. Raises
    :class:`WebhookRejected`.
    """
    check_size(raw_body)
    kick_headers = read_headers(headers)
    if isinstance(public_key, RSAPublicKey):
        is_signed = verify_signature(public_key, kick_headers, raw_body)
    else:
        is_signed = public_key.verify(kick_headers, raw_body)
    if not is_signed:
        raise WebhookRejected(401, "bad_signature", "signature does not match")
    check_timestamp(kick_headers, now=now, max_age_seconds=max_age_seconds)
    return kick_headers, json_object(raw_body)


__all__ = [
    "KICK_EVENT_TYPES",
    "MAX_BODY_BYTES",
    "MAX_FUTURE_SKEW_SECONDS",
    "InvalidPayload",
    "KeyRing",
    "UnusablePayload",
    "WebhookHeaders",
    "WebhookRejected",
    "check_timestamp",
    "load_public_key",
    "read_headers",
    "verify_delivery",
    "verify_signature",
]
