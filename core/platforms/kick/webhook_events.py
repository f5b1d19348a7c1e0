"""Kick webhook payloads into normalized events: one parser per event type, every field optional
and of unknown type, every string bounded and clean (:mod:`core.platforms.lenient`).

The payload shapes are Kick's documented examples (``events/event-types.md``, version 1), kept in
``tests/fixtures/kick/<event-type>.json``. Real deliveries leave keys out, send null where the
docs show a value, and send numbers where the docs show strings. The delivery was checked first
by :func:`core.platforms.kick.webhook.verify_delivery`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

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
from core.platforms.kick.webhook import InvalidPayload, UnusablePayload
from core.platforms.lenient import (
    NAME_MAX,
    TITLE_MAX,
    WORD_MAX,
)
from core.platforms.lenient import as_bool as _bool
from core.platforms.lenient import as_list as _list
from core.platforms.lenient import as_mapping as _mapping
from core.platforms.lenient import as_text as _text
from core.platforms.lenient import as_time as _time
from core.platforms.lenient import as_word as _word
from core.platforms.payload_reader import PayloadReader, strict_id

MAX_BADGES = 32


def parse_event(
    event_type: str, payload: Mapping[str, Any], *, message_id: str, delivered_at: datetime
) -> Event | None:
    """The normalized event for a verified payload, or None for an event type we do not handle.

    ``message_id`` (Kick-Event-Message-Id) is the event id unless the payload has its own id that
    Kick's Pusher socket shares (chat message id; reward redemption id plus status), or, for what
    earns something (a sub, gifted subs, KICKs), unless the payload tells it by its content (who,
    and when to the second or finer): Kick signs deliveries with one key for every app, so another
    app's copy of the same event, forwarded to us under its own message id, is the same event
    here, counted once (and so is one sent again under the other sub type). ``occurred_at``
    comes from the payload's time field when it has a readable one, never later than
    ``delivered_at``. Raises :class:`UnusablePayload` when no event can be built (a body without
    what only its type's holds, :data:`_MARKS`, included: the type header is not signed), and
    :class:`InvalidPayload` when a field holds a value no event may carry (see
    :mod:`core.platforms.lenient` for the bounds). Text is cleaned and cut, never refused.
    """
    parser = _PARSERS.get(event_type)
    if parser is None:
        return None
    if not isinstance(payload, Mapping):
        raise UnusablePayload("payload is not a JSON object")
    broadcaster_user_id = strict_id(payload, "broadcaster", "user_id")
    if broadcaster_user_id is None:
        raise UnusablePayload("no broadcaster user id")
    if not _holds(payload, _MARKS[event_type]):
        raise UnusablePayload(
            f"the body is not a {event_type}'s (no {'.'.join(_MARKS[event_type])})"
        )
    delivery = _Delivery(payload, message_id, utc(delivered_at), broadcaster_user_id)
    try:
        return parser(delivery)
    except InvalidEvent as exc:  # the last line: events check themselves
        raise InvalidPayload(str(exc)) from exc


class _Delivery(PayloadReader):
    """A Kick payload: its fields are named from the payload's top."""

    platform = Platform.KICK

    def required_viewer(self, key: str) -> Viewer:
        viewer = _viewer(self.data.get(key), key)
        if viewer is None:
            raise UnusablePayload(f"no {key} user id")
        return viewer


def _parse_chat_message(d: _Delivery) -> ChatMessageSent:
    badges = _list(d.get("sender", "identity", "badges"))[:MAX_BADGES]
    return ChatMessageSent(
        **d.common(d.id("message_id")),
        occurred_at=d.occurred_at(d.get("created_at")),
        viewer=d.required_viewer("sender"),
        content=d.text("content"),
        badges=tuple(
            kind for badge in badges if (kind := _text(_mapping(badge).get("type"), WORD_MAX))
        ),
        reply_to_message_id=d.id("replies_to", "message_id"),
    )


def _parse_followed(d: _Delivery) -> Followed:
    return Followed(
        **d.common(),
        occurred_at=d.delivered_at,
        viewer=d.required_viewer("follower"),
    )


def _parse_subscription(d: _Delivery, *, is_renewal: bool) -> Subscribed:
    return Subscribed(
        **d.common(_told_by_content(d, "sub", d.id("subscriber", "user_id"))),
        occurred_at=d.occurred_at(d.get("created_at")),
        viewer=d.required_viewer("subscriber"),
        is_renewal=is_renewal,
        months=d.int("duration"),
        expires_at=_time(d.get("expires_at")),
    )


def _parse_new_subscription(d: _Delivery) -> Subscribed:
    return _parse_subscription(d, is_renewal=False)


def _parse_subscription_renewal(d: _Delivery) -> Subscribed:
    return _parse_subscription(d, is_renewal=True)


def _parse_subscription_gifts(d: _Delivery) -> SubscriptionsGifted:
    """An anonymous gifter (Kick then sends every ``gifter`` field but ``is_anonymous`` as null),
    or one without a user id, becomes ``gifter=None``. ``count`` is the number of giftee entries
    delivered, including any without a user id."""
    anonymous = _bool(d.get("gifter", "is_anonymous")) is True
    entries = _list(d.get("giftees"))
    giftees = tuple(viewer for entry in entries if (viewer := _viewer(entry, "giftees")))
    gifter = None if anonymous else _viewer(d.get("gifter"), "gifter")
    told_by = _told_by_content(
        d,
        "gifts",
        gifter.platform_user_id if gifter else "anonymous",
        ",".join(sorted(str(g.platform_user_id) for g in giftees)) or None,
    )
    return SubscriptionsGifted(
        **d.common(told_by),
        occurred_at=d.occurred_at(d.get("created_at")),
        gifter=gifter,
        giftees=giftees,
        count=len(entries),
        expires_at=_time(d.get("expires_at")),
    )


def _parse_reward_redemption(d: _Delivery) -> RewardRedeemed:
    """Kick sends the same redemption (the same ``id``) once per ``status``: ``pending``, then
    ``accepted`` or ``rejected``."""
    status = _word(d.get("status")) or "pending"
    return d.reward_redeemed(status, "redeemer")


def _parse_livestream_status(d: _Delivery) -> StreamStarted | StreamEnded:
    """``is_live`` true starts the stream and false ends it. Without a readable ``is_live``, a
    non-empty ``ended_at`` (null while live) means the stream ended; otherwise it started."""
    is_live = _bool(d.get("is_live"))
    if is_live is None:
        is_live = d.get("ended_at") in (None, "")
    if is_live:
        return StreamStarted(
            **d.common(),
            occurred_at=d.occurred_at(d.get("started_at")),
            title=d.text("title", limit=TITLE_MAX),
        )
    return StreamEnded(
        **d.common(),
        occurred_at=d.occurred_at(d.get("ended_at")),
    )


def _parse_livestream_metadata(d: _Delivery) -> StreamMetadataUpdated:
    category = d.get("metadata", "category")
    category_name = _text(category, TITLE_MAX) if isinstance(category, str) else None
    return StreamMetadataUpdated(
        **d.common(),
        occurred_at=d.delivered_at,
        title=d.text("metadata", "title", limit=TITLE_MAX),
        category=category_name or _text(_mapping(category).get("name"), TITLE_MAX) or None,
        language=d.text("metadata", "language", limit=WORD_MAX) or None,
        is_mature=_bool(d.get("metadata", "has_mature_content")),
    )


def _parse_banned(d: _Delivery) -> ViewerBanned:
    return ViewerBanned(
        **d.common(),
        occurred_at=d.occurred_at(d.get("metadata", "created_at")),
        viewer=d.required_viewer("banned_user"),
        moderator=_viewer(d.get("moderator"), "moderator"),
        reason=d.text("metadata", "reason"),
        expires_at=_time(d.get("metadata", "expires_at")),  # null for a ban, set for a timeout
    )


def _parse_kicks_gifted(d: _Delivery) -> KicksGifted:
    told_by = _told_by_content(
        d, "kicks", d.id("sender", "user_id"), str(d.int("gift", "amount")), d.text("gift", "name")
    )
    return KicksGifted(
        **d.common(told_by),
        occurred_at=d.occurred_at(d.get("created_at")),
        viewer=d.required_viewer("sender"),
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


# What a body of each type holds and no other type's does (Kick's documented payloads). The type
# header is not signed, so a genuine delivery of one type can be sent to us again as another: a
# chat message's as "livestream.status.updated" would be a stream start that never was.
_MARKS: dict[str, tuple[str, ...]] = {
    "chat.message.sent": ("content",),
    "channel.followed": ("follower",),
    "channel.subscription.new": ("subscriber",),
    "channel.subscription.renewal": ("subscriber",),  # one event either way (_told_by_content)
    "channel.subscription.gifts": ("giftees",),
    "channel.reward.redemption.updated": ("redeemer",),
    "livestream.status.updated": ("is_live",),
    "livestream.metadata.updated": ("metadata", "title"),  # a ban's metadata has no title
    "moderation.banned": ("banned_user",),
    "kicks.gifted": ("gift",),
}


def _holds(payload: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether ``payload`` has the key at ``path``, whatever its value (null included)."""
    *parents, last = path
    found: Mapping[str, Any] = payload
    for key in parents:
        found = _mapping(found.get(key))
    return last in found


def _told_by_content(d: _Delivery, label: str, *parts: str | None) -> str | None:
    """The event id its content makes (see :func:`parse_event`): the label, ``parts`` and the
    payload's ``created_at`` text, hashed; None (the message id, then) when any is missing."""
    created_at = _text(d.get("created_at"), WORD_MAX)
    if not created_at or any(not part for part in parts):
        return None
    told = "\n".join((label, d.broadcaster_user_id, *parts, created_at))  # type: ignore[arg-type]
    return f"{label}-" + hashlib.sha256(told.encode()).hexdigest()[:40]


def _viewer(value: Any, name: str) -> Viewer | None:
    """The user object ``name`` in the payload; None without a user id, :class:`InvalidPayload`
    with one that is no valid id. (Its ``identity`` is null for broadcasters and replied-to
    senders; reward and kicks events send users without ``is_anonymous`` and ``identity``.)"""
    user = _mapping(value)
    user_id = strict_id(user, "user_id", label=f"{name}.user_id")
    if user_id is None:
        return None
    username = _text(user.get("username"), NAME_MAX) or _text(user.get("channel_slug"), NAME_MAX)
    return Viewer(platform_user_id=user_id, username=username or "")
