"""Frames of Twitch's EventSub WebSocket, read leniently: text in, a :class:`WsFrame` or None.

Every frame is ``{"metadata": {message_id, message_type, message_timestamp, ...}, "payload": ...}``.
A notification's payload is the same ``{subscription, event}`` body a webhook carries, so it is
turned into an event by :func:`core.platforms.twitch.notifications.parse_notification`, and a
revocation into the webhook's :class:`~core.platforms.twitch.webhook.Revocation`. Nothing here
raises on any input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.events import Event, utc
from core.platforms.lenient import as_id, as_mapping, as_text, as_time, checked_int
from core.platforms.twitch.notifications import (
    TWITCH_SUBSCRIPTION_TYPES,
    InvalidPayload,
    UnusablePayload,
    parse_notification,
)
from core.platforms.twitch.webhook import Revocation, read_revocation

MAX_FRAME_BYTES = 1_000_000  # Twitch's frames are a few kB; a larger one is not Twitch's
# The largest message the socket reads (aiohttp's ``max_msg_size``): one over MAX_FRAME_BYTES up
# to this is read and skipped, the session going on; a larger one makes aiohttp close the
# connection (1009, "message too big"), which is then reconnected and subscribed again.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
URL_MAX = 2048

WELCOME = "session_welcome"
KEEPALIVE = "session_keepalive"
NOTIFICATION = "notification"
RECONNECT = "session_reconnect"
REVOCATION = "revocation"


@dataclass(frozen=True)
class WsFrame:
    message_id: str
    message_type: str
    subscription_type: str
    sent_at: datetime | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class WsSession:
    """``payload.session`` of a welcome or reconnect message."""

    id: str
    keepalive_timeout_seconds: int | None
    reconnect_url: str | None


def decode_frame(raw: str | bytes) -> WsFrame | None:
    """The frame, or None when it is not JSON, not an object, or has no message id or type."""
    if len(raw) > MAX_FRAME_BYTES:
        return None
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    metadata = as_mapping(as_mapping(message).get("metadata"))
    message_id = as_id(metadata.get("message_id"))
    message_type = (as_text(metadata.get("message_type"), 64) or "").strip()
    if message_id is None or not message_type:
        return None
    return WsFrame(
        message_id=message_id,
        message_type=message_type,
        subscription_type=(as_text(metadata.get("subscription_type"), 100) or "").strip(),
        sent_at=as_time(metadata.get("message_timestamp")),
        payload=as_mapping(as_mapping(message).get("payload")),
    )


def session_of(frame: WsFrame) -> WsSession | None:
    """The session of a welcome or reconnect frame; None without a usable session id."""
    session = as_mapping(frame.payload.get("session"))
    session_id = as_id(session.get("id"))
    if session_id is None:
        return None
    try:
        keepalive = checked_int(session.get("keepalive_timeout_seconds"))
    except ValueError:
        keepalive = None
    url = session.get("reconnect_url")
    is_url = isinstance(url, str) and url.startswith(("wss://", "ws://")) and len(url) <= URL_MAX
    return WsSession(
        id=session_id,
        keepalive_timeout_seconds=keepalive if keepalive is not None and keepalive > 0 else None,
        reconnect_url=url if is_url else None,
    )


def event_of(frame: WsFrame, *, received_at: datetime) -> Event | None:
    """The event of a notification frame, or None (another kind of frame, a type we do not
    handle, or a payload no event can be built from). The delivery time is the frame's
    timestamp, never later than ``received_at``."""
    if frame.message_type != NOTIFICATION:
        return None
    subscription_type = frame.subscription_type or (
        as_text(as_mapping(frame.payload.get("subscription")).get("type"), 100) or ""
    )
    if subscription_type not in TWITCH_SUBSCRIPTION_TYPES:
        return None
    received_at = utc(received_at)
    sent_at = frame.sent_at if frame.sent_at and frame.sent_at <= received_at else received_at
    try:
        return parse_notification(
            subscription_type, frame.payload, message_id=frame.message_id, delivered_at=sent_at
        )
    except (UnusablePayload, InvalidPayload):
        return None


def revocation_of(frame: WsFrame, *, received_at: datetime) -> Revocation | None:
    """The revoked subscription of a revocation frame; None for any other frame."""
    if frame.message_type != REVOCATION:
        return None
    return read_revocation(
        as_mapping(frame.payload.get("subscription")),
        revoked_at=frame.sent_at or utc(received_at),
        subscription_type=frame.subscription_type,
    )


__all__ = [
    "KEEPALIVE",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "NOTIFICATION",
    "RECONNECT",
    "REVOCATION",
    "WELCOME",
    "WsFrame",
    "WsSession",
    "decode_frame",
    "event_of",
    "revocation_of",
    "session_of",
]
