"""Frames from Kick's unofficial Pusher socket turned into normalized events. Pure, no I/O.

A frame is ``{"event", "channel", "data"}`` where ``data`` is usually a JSON *string*, so it is
decoded twice. Kick names an event with or without an ``App\\Events\\`` prefix. Every field is
optional and of unknown type; an unreadable frame gives None, never an exception.

Event ids, which the bus dedupes on:

- a chat message uses its UUID, the id the ``chat.message.sent`` webhook carries as
  ``message_id``, so the bus keeps one of the two copies; a ban uses the ban's UUID;
- a gift uses a hash of the gifter's and giftees' usernames and the receive time by
  :data:`GIFT_WINDOW_SECONDS`, because one gift can arrive as ``GiftedSubscriptionsEvent``,
  ``LuckyUsersWhoGotGiftSubscriptionsEvent`` and a legacy ``ChatMessageSentEvent`` on three
  different channels, while the same gift again later is another gift;
- anything else uses a hash of (event name, channel, data), with the channel reduced to its kind
  and number so that the copies Kick sends on alias channels (``chatroom_1``, ``chatrooms.1``,
  ``chatrooms.1.v2``; ``channel_2``, ``channel.2``) share one id. A reward redemption carries no
  id and repeats with identical data, so its hash also holds the receive time rounded down to
  :data:`REWARD_WINDOW_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.events import (
    ChatMessageSent,
    Event,
    KicksGifted,
    Platform,
    Raided,
    RewardRedeemed,
    StreamEnded,
    StreamStarted,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
    ViewerBanned,
    utc,
)
from core.platforms.lenient import NAME_MAX, TITLE_MAX, WORD_MAX
from core.platforms.lenient import as_bool as _bool
from core.platforms.lenient import as_id as _id
from core.platforms.lenient import as_int as _int
from core.platforms.lenient import as_list as _list
from core.platforms.lenient import as_mapping as _mapping
from core.platforms.lenient import as_text as _text
from core.platforms.lenient import as_time as _time

EVENT_PREFIX = "App\\Events\\"
REWARD_WINDOW_SECONDS = 10
CHAT_EVENT = "ChatMessageEvent"  # chat names itself: its message id
# A gift's frames (three kinds on three channels) arrive within seconds; its id holds the
# receive time by this window, read as of the gift's first frame (pusher_arrivals.py).
GIFT_WINDOW_SECONDS = 600


@dataclass(frozen=True)
class PusherFrame:
    """One decoded frame. ``event`` has no ``App\\Events\\`` prefix; ``data`` is None when the
    frame had no ``data`` or it was not a JSON object (once or twice encoded)."""

    event: str
    channel: str | None
    data: Mapping[str, Any] | None


def decode_frame(raw: str | bytes) -> PusherFrame | None:
    """The frame in ``raw``, or None when it is not a JSON object with a string ``event``."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        frame = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(frame, dict):
        return None
    name = frame.get("event")
    if not isinstance(name, str) or not name.strip():
        return None
    channel = frame.get("channel")
    return PusherFrame(
        event=name.strip().removeprefix(EVENT_PREFIX),
        channel=channel if isinstance(channel, str) and channel else None,
        data=_decode_data(frame.get("data")),
    )


def _decode_data(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def parse_frame(
    raw: str | bytes, *, broadcaster_user_id: str, received_at: datetime
) -> Event | None:
    """The event in a raw frame, or None for protocol frames, events we do not use and junk."""
    frame = decode_frame(raw)
    if frame is None:
        return None
    return event_from_frame(frame, broadcaster_user_id=broadcaster_user_id, received_at=received_at)


def event_from_frame(
    frame: PusherFrame, *, broadcaster_user_id: str, received_at: datetime
) -> Event | None:
    """Like :func:`parse_frame` for an already decoded frame. ``occurred_at`` is never later than
    ``received_at``."""
    parser = _PARSERS.get(frame.event)
    if parser is None or frame.data is None:
        return None
    context = _Frame(frame, broadcaster_user_id, utc(received_at))
    try:
        return parser(context)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None


def is_money_like(event: Event) -> bool:
    """Whether the event moves money or points; with webhooks on, only webhooks report these."""
    return isinstance(event, Subscribed | SubscriptionsGifted | RewardRedeemed | KicksGifted)


def channel_key(channel: str | None) -> str:
    """What a channel is, whatever alias named it: ``chatroom:<id>``, ``channel:<id>``, or the
    name itself for anything else."""
    if channel is None:
        return ""
    for kind, pattern in _ALIASES:
        match = pattern.fullmatch(channel)
        if match:
            return f"{kind}:{match[1]}"
    return channel


_ALIASES = (
    ("chatroom", re.compile(r"chatrooms?[._](\d+)(?:\.v2)?", re.ASCII)),
    ("channel", re.compile(r"channel[._](\d+)", re.ASCII)),
)


@dataclass(frozen=True)
class _Frame:
    frame: PusherFrame
    broadcaster_user_id: str
    received_at: datetime

    def get(self, *path: str) -> Any:
        value: Any = self.frame.data
        for key in path:
            value = _mapping(value).get(key)
        return value

    def occurred_at(self, value: Any) -> datetime:
        moment = _time(value)
        if moment is None or moment > self.received_at:
            return self.received_at
        return moment

    def hashed_id(self, *extra: str) -> str:
        # The data is re-encoded canonically, so key order and escaping (``https:\/\/``) do not
        # matter, nor whether ``data`` came as a string or an object.
        data = json.dumps(
            self.frame.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return _digest(
            self.frame.event,
            channel_key(self.frame.channel),
            self.broadcaster_user_id,
            data,
            *extra,
        )

    def event_fields(self, event_id: str, occurred_at: datetime | None = None) -> dict[str, Any]:
        return {
            "platform": Platform.KICK,
            "event_id": event_id,
            "broadcaster_user_id": self.broadcaster_user_id,
            "occurred_at": occurred_at or self.received_at,
        }


def _digest(*parts: str) -> str:
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return "pusher-" + hashlib.sha256(joined).hexdigest()[:32]


def _parse_chat_message(f: _Frame) -> ChatMessageSent | None:
    viewer = _viewer(f.get("sender"))
    if viewer is None:
        return None
    badges = _list(f.get("sender", "identity", "badges"))
    return ChatMessageSent(
        **f.event_fields(_id(f.get("id")) or f.hashed_id(), f.occurred_at(f.get("created_at"))),
        viewer=viewer,
        content=_text(f.get("content")) or "",
        badges=tuple(
            kind for badge in badges[:32] if (kind := _text(_mapping(badge).get("type"), WORD_MAX))
        ),
        reply_to_message_id=_id(f.get("metadata", "original_message", "id")),
    )


def _parse_subscription(f: _Frame) -> Subscribed | None:
    """Pusher names the subscriber without an id and does not say new or renewal, so more than
    one month counts as a renewal."""
    username = _text(f.get("username"), NAME_MAX)
    if not username:
        return None
    months = _int(f.get("months"))
    return Subscribed(
        **f.event_fields(f.hashed_id()),
        viewer=Viewer(platform_user_id=None, username=username),
        is_renewal=months is not None and months > 1,
        months=months,
    )


def _gifted(
    f: _Frame,
    gifter: Viewer | None,
    giftee_names: list[Any],
    *,
    count: int | None = None,
    natural_id: str | None = None,
    occurred_at: datetime | None = None,
) -> SubscriptionsGifted | None:
    """``count`` is the number of giftees named, or the frame's own count when it names none."""
    giftees = tuple(
        Viewer(platform_user_id=None, username=name)
        for value in giftee_names
        if (name := _text(value, NAME_MAX))
    )
    total = len(giftees) or count or 0
    if total <= 0:
        return None
    if giftees:
        # Its time too (GIFT_WINDOW_SECONDS): the same gift again later is another, not a copy.
        window = int(f.received_at.timestamp() // GIFT_WINDOW_SECONDS)
        event_id = _digest(*gift_parts(f.broadcaster_user_id, gifter, giftees), f"w{window}")
    else:
        event_id = natural_id or f.hashed_id()
    return SubscriptionsGifted(
        **f.event_fields(event_id, occurred_at),
        gifter=gifter,
        giftees=giftees,
        count=total,
    )


def gift_parts(
    broadcaster_user_id: str, gifter: Viewer | None, giftees: tuple[Viewer, ...]
) -> tuple[str, ...]:
    """What names a gift whichever kind of frame told it (usernames case-folded)."""
    names = sorted(giftee.username.lower() for giftee in giftees)
    return ("gift", broadcaster_user_id, gifter.username.lower() if gifter else "", *names)


def _named_viewer(value: Any) -> Viewer | None:
    name = _text(value, NAME_MAX)
    return Viewer(platform_user_id=None, username=name) if name else None


def _parse_gifted_subscriptions(f: _Frame) -> SubscriptionsGifted | None:
    gifter = _named_viewer(f.get("gifter_username"))
    return _gifted(f, gifter, _list(f.get("gifted_usernames")))


def _parse_lucky_users(f: _Frame) -> SubscriptionsGifted | None:
    gifter = _named_viewer(f.get("gifter_username"))
    return _gifted(f, gifter, _list(f.get("usernames")))


def _parse_legacy_chat_message(f: _Frame) -> SubscriptionsGifted | None:
    """Only the 2025 gift notices; ordinary legacy chat messages are left to ChatMessageEvent."""
    if _text(f.get("message", "action")) != "gift":
        return None
    entries = _list(f.get("message", "giftedUsers"))
    return _gifted(
        f,
        _viewer(f.get("user")),
        [_mapping(entry).get("username") for entry in entries],
        count=_int(f.get("message", "subscriptions_count")),
        natural_id=_id(f.get("message", "id")),
        occurred_at=f.occurred_at(f.get("message", "created_at")),
    )


def _parse_reward_redeemed(f: _Frame) -> RewardRedeemed | None:
    viewer = _viewer({"id": f.get("user_id"), "username": f.get("username")})
    if viewer is None:
        return None
    # No frame seen so far has an id; if one comes, it is likely the redemption id, which the
    # webhook turns into "<id>:pending".
    redemption_id = _id(f.get("id"))
    window = int(f.received_at.timestamp()) // REWARD_WINDOW_SECONDS
    return RewardRedeemed(
        **f.event_fields(f"{redemption_id}:pending" if redemption_id else f.hashed_id(str(window))),
        viewer=viewer,
        reward_title=_text(f.get("reward_title"), TITLE_MAX) or "",
        user_input=_text(f.get("user_input")) or "",
    )


def _parse_streamer_is_live(f: _Frame) -> StreamStarted:
    return StreamStarted(
        **f.event_fields(f.hashed_id(), f.occurred_at(f.get("livestream", "created_at"))),
        title=_text(f.get("livestream", "session_title"), TITLE_MAX) or "",
    )


def _parse_stop_stream_broadcast(f: _Frame) -> StreamEnded:
    return StreamEnded(**f.event_fields(f.hashed_id()))


def _parse_user_banned(f: _Frame) -> ViewerBanned | None:
    """A timeout without ``expires_at`` ends ``duration`` minutes after it was received."""
    viewer = _viewer(f.get("user"))
    if viewer is None:
        return None
    expires_at = None
    if _bool(f.get("permanent")) is not True:
        expires_at = _time(f.get("expires_at"))
        minutes = _int(f.get("duration"))
        if expires_at is None and minutes is not None and minutes > 0:
            expires_at = f.received_at + timedelta(minutes=minutes)
    return ViewerBanned(
        **f.event_fields(_id(f.get("id")) or f.hashed_id()),
        viewer=viewer,
        moderator=_viewer(f.get("banned_by")),
        expires_at=expires_at,
    )


def _parse_stream_hosted(f: _Frame) -> Raided | None:
    """Another channel hosted this one (Kick's raid): the host is ``user``, the message says how
    many viewers came and what the host wrote, if anything."""
    raider = _viewer(f.get("user"))
    if raider is None:
        return None
    return Raided(
        **f.event_fields(
            _id(f.get("message", "id")) or f.hashed_id(),
            f.occurred_at(f.get("message", "createdAt")),
        ),
        raider=raider,
        viewers=max(_int(f.get("message", "numberOfViewers")) or 0, 0),
        message=_text(f.get("message", "optionalMessage")) or "",
    )


_PARSERS: dict[str, Callable[[_Frame], Event | None]] = {
    "StreamHostedEvent": _parse_stream_hosted,
    CHAT_EVENT: _parse_chat_message,
    "SubscriptionEvent": _parse_subscription,
    "GiftedSubscriptionsEvent": _parse_gifted_subscriptions,
    "LuckyUsersWhoGotGiftSubscriptionsEvent": _parse_lucky_users,
    "ChatMessageSentEvent": _parse_legacy_chat_message,
    "RewardRedeemedEvent": _parse_reward_redeemed,
    "StreamerIsLive": _parse_streamer_is_live,
    "StopStreamBroadcast": _parse_stop_stream_broadcast,
    "UserBannedEvent": _parse_user_banned,
}


# Lenient readers, the same rules as the webhook parser's (kept private to each module).


def _viewer(value: Any) -> Viewer | None:
    """A user object with an ``id`` and/or ``username``. Id 0 (Kick's "made in the web UI"
    moderator) counts as no id; with neither an id nor a name there is no viewer."""
    user = _mapping(value)
    user_id = _id(user.get("id"))
    if user_id == "0":
        user_id = None
    username = _text(user.get("username"), NAME_MAX) or _text(user.get("slug"), NAME_MAX) or ""
    if user_id is None and not username:
        return None
    return Viewer(platform_user_id=user_id, username=username)


__all__ = [
    "EVENT_PREFIX",
    "REWARD_WINDOW_SECONDS",
    "PusherFrame",
    "channel_key",
    "decode_frame",
    "event_from_frame",
    "is_money_like",
    "parse_frame",
]
