"""Kick webhooks: check a delivery (size, headers, signature, timestamp, JSON) and turn its payload
into a normalized event.

Kick signs ``f"{message_id}.{timestamp}.".encode() + raw_body`` with RSA PKCS#1 v1.5 / SHA-256
and sends the base64 signature in ``Kick-Event-Signature``. The payload shapes are described in
:mod:`core.platforms.kick.payloads`; parsing treats every field as optional and of unknown type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from core.events import (
    ChatMessageSent,
    Event,
    Followed,
    InvalidEvent,
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
    utc,
)
from core.platforms.lenient import (
    NAME_MAX,
    TEXT_MAX,
    TITLE_MAX,
    WORD_MAX,
    BadValue,
    checked_id,
    checked_int,
)
from core.platforms.lenient import as_bool as _bool
from core.platforms.lenient import as_id as _id
from core.platforms.lenient import as_list as _list
from core.platforms.lenient import as_mapping as _mapping
from core.platforms.lenient import as_text as _text
from core.platforms.lenient import as_time as _time
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
MAX_BADGES = 32
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


def parse_event(
    event_type: str, payload: Mapping[str, Any], *, message_id: str, delivered_at: datetime
) -> Event | None:
    """The normalized event for a verified payload, or None for an event type we do not handle.

    ``message_id`` (Kick-Event-Message-Id) is the event id unless the payload has its own id that
    Kick's Pusher socket shares (chat message id; reward redemption id plus status). ``occurred_at``
    comes from the payload's time field when it has a readable one, never later than
    ``delivered_at``. Raises :class:`UnusablePayload` when no event can be built, and
    :class:`InvalidPayload` when a field holds a value no event may carry (see
    :mod:`core.platforms.lenient` for the bounds). Text is cleaned and cut, never refused.
    """
    parser = _PARSERS.get(event_type)
    if parser is None:
        return None
    if not isinstance(payload, Mapping):
        raise UnusablePayload("payload is not a JSON object")
    broadcaster_user_id = _strict_id(payload, "broadcaster", "user_id")
    if broadcaster_user_id is None:
        raise UnusablePayload("no broadcaster user id")
    delivery = _Delivery(payload, message_id, utc(delivered_at), broadcaster_user_id)
    try:
        return parser(delivery)
    except InvalidEvent as exc:  # the last line: events check themselves
        raise InvalidPayload(str(exc)) from exc


def _strict_id(payload: Any, *path: str, label: str = "") -> str | None:
    """The id at ``path``; None when absent; :class:`InvalidPayload` naming the field when it is
    there and no valid id."""
    value: Any = payload
    for key in path:
        value = _mapping(value).get(key)
    try:
        return checked_id(value)
    except BadValue as exc:
        raise InvalidPayload(f"{label or '.'.join(path)} {exc}") from exc


@dataclass(frozen=True)
class _Delivery:
    payload: Mapping[str, Any]
    message_id: str
    delivered_at: datetime
    broadcaster_user_id: str

    def get(self, *path: str) -> Any:
        value: Any = self.payload
        for key in path:
            value = _mapping(value).get(key)
        return value

    def id(self, *path: str) -> str | None:
        """The id at ``path``; :class:`InvalidPayload` when it is there but no valid id."""
        return _strict_id(self.payload, *path)

    def int(self, *path: str) -> int | None:
        try:
            return checked_int(self.get(*path))
        except BadValue as exc:
            raise InvalidPayload(f"{'.'.join(path)} {exc}") from exc

    def text(self, *path: str, limit: int = TEXT_MAX) -> str:
        return _text(self.get(*path), limit) or ""

    def event_id(self, natural_id: str | None = None) -> str:
        return natural_id or self.message_id

    def occurred_at(self, value: Any) -> datetime:
        moment = _time(value)
        if moment is None or moment > self.delivered_at:
            return self.delivered_at
        return moment

    def viewer(self, key: str) -> Viewer:
        viewer = _viewer(self.payload.get(key), key)
        if viewer is None:
            raise UnusablePayload(f"no {key} user id")
        return viewer


def _parse_chat_message(d: _Delivery) -> ChatMessageSent:
    badges = _list(d.get("sender", "identity", "badges"))[:MAX_BADGES]
    return ChatMessageSent(
        platform=Platform.KICK,
        event_id=d.event_id(d.id("message_id")),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("created_at")),
        viewer=d.viewer("sender"),
        content=d.text("content"),
        badges=tuple(
            kind for badge in badges if (kind := _text(_mapping(badge).get("type"), WORD_MAX))
        ),
        reply_to_message_id=d.id("replies_to", "message_id"),
    )


def _parse_followed(d: _Delivery) -> Followed:
    return Followed(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.delivered_at,
        viewer=d.viewer("follower"),
    )


def _parse_subscription(d: _Delivery, *, is_renewal: bool) -> Subscribed:
    return Subscribed(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("created_at")),
        viewer=d.viewer("subscriber"),
        is_renewal=is_renewal,
        months=d.int("duration"),
        expires_at=_time(d.get("expires_at")),
    )


def _parse_new_subscription(d: _Delivery) -> Subscribed:
    return _parse_subscription(d, is_renewal=False)


def _parse_subscription_renewal(d: _Delivery) -> Subscribed:
    return _parse_subscription(d, is_renewal=True)


def _parse_subscription_gifts(d: _Delivery) -> SubscriptionsGifted:
    """An anonymous gifter, or one without a user id, becomes ``gifter=None``. ``count`` is the
    number of giftee entries delivered, including any without a user id."""
    anonymous = _bool(d.get("gifter", "is_anonymous")) is True
    entries = _list(d.get("giftees"))
    return SubscriptionsGifted(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("created_at")),
        gifter=None if anonymous else _viewer(d.get("gifter"), "gifter"),
        giftees=tuple(viewer for entry in entries if (viewer := _viewer(entry, "giftees"))),
        count=len(entries),
        expires_at=_time(d.get("expires_at")),
    )


def _parse_reward_redemption(d: _Delivery) -> RewardRedeemed:
    """Kick sends the same redemption again when it is accepted or rejected, so the event id is
    the redemption id plus the status."""
    status = (d.text("status", limit=WORD_MAX) or "pending").lower()
    redemption_id = d.id("id")
    return RewardRedeemed(
        platform=Platform.KICK,
        event_id=d.event_id(f"{redemption_id}:{status}" if redemption_id else None),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("redeemed_at")),
        viewer=d.viewer("redeemer"),
        reward_id=d.id("reward", "id"),
        reward_title=d.text("reward", "title", limit=TITLE_MAX),
        cost=d.int("reward", "cost"),
        user_input=d.text("user_input"),
        status=status,
    )


def _parse_livestream_status(d: _Delivery) -> StreamStarted | StreamEnded:
    """``is_live`` true starts the stream and false ends it. Without a readable ``is_live``, a
    non-empty ``ended_at`` means the stream ended; otherwise it started."""
    is_live = _bool(d.get("is_live"))
    if is_live is None:
        is_live = d.get("ended_at") in (None, "")
    if is_live:
        return StreamStarted(
            platform=Platform.KICK,
            event_id=d.event_id(),
            broadcaster_user_id=d.broadcaster_user_id,
            occurred_at=d.occurred_at(d.get("started_at")),
            title=d.text("title", limit=TITLE_MAX),
        )
    return StreamEnded(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("ended_at")),
    )


def _parse_livestream_metadata(d: _Delivery) -> StreamMetadataUpdated:
    category = d.get("metadata", "category")
    category_name = _text(category, TITLE_MAX) if isinstance(category, str) else None
    return StreamMetadataUpdated(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.delivered_at,
        title=d.text("metadata", "title", limit=TITLE_MAX),
        category=category_name or _text(_mapping(category).get("name"), TITLE_MAX) or None,
        language=d.text("metadata", "language", limit=WORD_MAX) or None,
        is_mature=_bool(d.get("metadata", "has_mature_content")),
    )


def _parse_banned(d: _Delivery) -> ViewerBanned:
    return ViewerBanned(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("metadata", "created_at")),
        viewer=d.viewer("banned_user"),
        moderator=_viewer(d.get("moderator"), "moderator"),
        reason=d.text("metadata", "reason"),
        expires_at=_time(d.get("metadata", "expires_at")),
    )


def _parse_kicks_gifted(d: _Delivery) -> KicksGifted:
    return KicksGifted(
        platform=Platform.KICK,
        event_id=d.event_id(),
        broadcaster_user_id=d.broadcaster_user_id,
        occurred_at=d.occurred_at(d.get("created_at")),
        viewer=d.viewer("sender"),
        amount=d.int("gift", "amount") or 0,
        gift_name=d.text("gift", "name", limit=TITLE_MAX),
        message=d.text("gift", "message"),
    )


_PARSERS: dict[str, Callable[[_Delivery], Event]] = {
    "chat.message.sent": _parse_chat_message,
    "channel.followed": _parse_followed,
    "channel.subscription.new": _parse_new_subscription,
    "channel.subscription.renewal": _parse_subscription_renewal,
    "channel.subscription.gifts": _parse_subscription_gifts,
    "channel.reward.redemption.updated": _parse_reward_redemption,
    "livestream.status.updated": _parse_livestream_status,
    "livestream.metadata.updated": _parse_livestream_metadata,
    "moderation.banned": _parse_banned,
    "kicks.gifted": _parse_kicks_gifted,
}


def _viewer(value: Any, name: str) -> Viewer | None:
    """The user object ``name`` in the payload; None without a user id, :class:`InvalidPayload`
    with one that is no valid id."""
    user = _mapping(value)
    user_id = _strict_id(user, "user_id", label=f"{name}.user_id")
    if user_id is None:
        return None
    username = _text(user.get("username"), NAME_MAX) or _text(user.get("channel_slug"), NAME_MAX)
    return Viewer(platform_user_id=user_id, username=username or "")


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
    "parse_event",
    "read_headers",
    "verify_delivery",
    "verify_signature",
]
