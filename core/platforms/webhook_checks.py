"""The checks both platforms make on a webhook delivery before they trust it (Kick's and
Twitch's ``webhook.py``): its size, its headers in any case, a valid message id, a readable and
fresh timestamp, and a body that is a JSON object; and the errors a verified payload raises when
no event can be built from it.

How a delivery is signed, which headers each platform needs and what status each refusal gets
stay with the platform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from core.events import utc
from core.platforms.lenient import BadValue, checked_id, parse_time_text

MAX_BODY_BYTES = 1024 * 1024
MAX_FUTURE_SKEW_SECONDS = 60
_MORE_THAN_A_WORD = re.compile(r"[,\s]")


class WebhookRejected(Exception):
    """A delivery to refuse.

    ``status`` is the HTTP status to answer (400, 401, 403 or 413, as the platform asks);
    ``reason`` a short snake_case label for metrics and logs (``missing_headers``,
    ``bad_message_id``, ``repeated_header``, ``missing_signature``, ``bad_signature``,
    ``not_configured``, ``bad_timestamp``, ``stale_timestamp``, ``future_timestamp``,
    ``not_json_object``, ``too_large``); ``message`` plain words for the reply body.
    """

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


class UnusablePayload(Exception):
    """A verified payload from which no event can be built (say, no broadcaster user id):
    answered 200 "ignored"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidPayload(Exception):
    """A verified payload holding a value that can never be accepted: an id that is too long,
    not ASCII, holds a NUL or a lone surrogate, or a number like ``1e308``. Unlike
    :class:`UnusablePayload` it is answered 400, since no retry can succeed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_size(raw_body: bytes) -> None:
    if len(raw_body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "too_large", f"body is over {MAX_BODY_BYTES} bytes")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The header ``name``, whatever the case of the names in ``headers``; None when it is
    missing, blank or not text."""
    value: object = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next(
            (v for k, v in headers.items() if isinstance(k, str) and k.lower() == wanted), None
        )
    if not isinstance(value, str):
        return None
    return value.strip() or None


def required_headers(
    headers: Mapping[str, str],
    names: Iterable[str],
    *,
    message_id_header: str,
    word_headers: Iterable[str] = (),
) -> tuple[dict[str, str], str]:
    """The headers ``names`` (each present), and the message id in ``message_id_header`` (one
    of them) checked as an id. A missing header, an unusable message id, or one of
    ``word_headers`` (a type: one word) holding a comma or a space is refused with 400: a header
    sent twice reaches us as its values joined by a comma, and no type is that."""
    values = {name: header(headers, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise WebhookRejected(400, "missing_headers", f"missing header(s): {', '.join(missing)}")
    for name in word_headers:
        if _MORE_THAN_A_WORD.search(values[name] or ""):
            raise WebhookRejected(
                400, "repeated_header", f"{name} holds more than one value: {values[name]!r:.80}"
            )
    try:
        message_id = checked_id(values[message_id_header]) or ""
    except BadValue as exc:
        raise WebhookRejected(
            400, "bad_message_id", f"{message_id_header} is not a valid message id: it {exc}"
        ) from exc
    return {name: value or "" for name, value in values.items()}, message_id


def check_sent_at(
    timestamp: str,
    *,
    header_name: str,
    now: datetime,
    max_age_seconds: int | None,
    unreadable_status: int,
    refused_status: int,
    stale_subject: str = "message timestamp",
) -> datetime:
    """When the delivery was sent (aware UTC), read leniently as RFC 3339.

    Unreadable is refused with ``unreadable_status``; older than ``max_age_seconds`` (None: no
    age limit) or more than :data:`MAX_FUTURE_SKEW_SECONDS` ahead of ``now`` with
    ``refused_status``. ``stale_subject`` starts the stale refusal's message.
    """
    sent_at = parse_time_text(timestamp)
    if sent_at is None:
        raise WebhookRejected(
            unreadable_status, "bad_timestamp", f"unreadable {header_name}: {timestamp!r:.60}"
        )
    age = (utc(now) - sent_at).total_seconds()
    if max_age_seconds is not None and age > max_age_seconds:
        raise WebhookRejected(
            refused_status,
            "stale_timestamp",
            f"{stale_subject} is {age:.0f} s old (limit {max_age_seconds} s)",
        )
    if -age > MAX_FUTURE_SKEW_SECONDS:
        raise WebhookRejected(
            refused_status,
            "future_timestamp",
            f"message timestamp is {-age:.0f} s in the future (limit {MAX_FUTURE_SKEW_SECONDS} s)",
        )
    return sent_at


def json_object(raw_body: bytes) -> dict[str, Any]:
    """The verified body as a JSON object; anything else is refused with 400."""
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected(400, "not_json_object", "body is not a JSON object") from exc
    if not isinstance(body, dict):
        raise WebhookRejected(400, "not_json_object", "body is not a JSON object")
    return body


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_FUTURE_SKEW_SECONDS",
    "InvalidPayload",
    "UnusablePayload",
    "WebhookRejected",
    "check_sent_at",
    "check_size",
    "header",
    "json_object",
    "required_headers",
]
