"""Sign webhook bodies the way Kick does, for the demo, the tests and the fake Kick.

Only a throwaway key pair is ever used here: Kick keeps its own private key."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def generate_key_pair() -> tuple[RSAPrivateKey, str]:
    """A fresh RSA-2048 private key and its public key as PEM text (SubjectPublicKeyInfo)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_key, public_pem.decode()


def new_message_id() -> str:
    """A ULID-like id: 26 Crockford base32 characters, millisecond time then 80 random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, to the second, as Kick sends it (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(private_key: RSAPrivateKey, message_id: str, timestamp: str, body: bytes) -> str:
    """The base64 ``Kick-Event-Signature`` for this message id, timestamp text and body."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(private_key.sign(signed, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_headers(
    private_key: RSAPrivateKey,
    body: bytes,
    *,
    event_type: str,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, str]:
    """The headers of a Kick delivery of ``body``, signed with ``private_key``."""
    message_id = message_id or new_message_id()
    sent_at = format_timestamp(timestamp or datetime.now(UTC))
    return {
        "Kick-Event-Message-Id": message_id,
        "Kick-Event-Subscription-Id": new_message_id(),
        "Kick-Event-Signature": sign(private_key, message_id, sent_at, body),
        "Kick-Event-Message-Timestamp": sent_at,
        "Kick-Event-Type": event_type,
        "Kick-Event-Version": "1",
    }
