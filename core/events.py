"""Normalized events: what happened on a platform, in one shape for every platform.

Adapters turn raw payloads into these; features only ever see these. Every event carries the
platform, the platform's own id for it (``event_id``, the idempotency key), the broadcaster's user
id, and when it happened (UTC). Events cross process boundaries through the bus, so each one
round-trips through :func:`event_to_dict` / :func:`event_from_dict`.

An event checks its own strings and numbers when it is built (:class:`InvalidEvent`), whatever
platform made it: no NUL, no lone surrogate, ids of at most :data:`ID_MAX` characters (the event
id :data:`EVENT_ID_MAX`, so that the key fits its column), text of at most :data:`TEXT_MAX`, and
whole numbers within 64 bits. Adapters clean and bound what they read long before this; the
check is the last line, so that no adapter can hand a feature something the database refuses.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

ID_MAX = 64  # a platform's user ids, message ids (the columns are String(64))
EVENT_ID_MAX = 128  # the key "<platform>:<kind>:<event_id>" must fit String(255)
NAME_MAX = 100  # usernames (String(100))
TEXT_MAX = 2000  # any other text
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_ID_FIELDS = {"event_id": EVENT_ID_MAX, "broadcaster_user_id": ID_MAX}
_ID_SUFFIXES = ("_id",)


class InvalidEvent(ValueError):
    """An event (or viewer) holding a value no store accepts; the adapter should have refused it."""


def check_text(name: str, value: str, limit: int) -> None:
    """Raise :class:`InvalidEvent` unless ``value`` is storable text of at most ``limit``."""
    if len(value) > limit:
        raise InvalidEvent(f"{name} is over {limit} characters")
    if "\x00" in value:
        raise InvalidEvent(f"{name} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidEvent(f"{name} holds a lone surrogate") from exc


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, str):
        limit = _ID_FIELDS.get(name) or (ID_MAX if name.endswith(_ID_SUFFIXES) else TEXT_MAX)
        check_text(name, value, limit)
    elif isinstance(value, bool | float):
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidEvent(f"{name} is outside the 64-bit range")
    elif isinstance(value, tuple):
        for item in value:
            _check_value(name, item)


class Platform(enum.StrEnum):
    KICK = "kick"
    TWITCH = "twitch"


@dataclass(frozen=True)
class Viewer:
    """A platform account. ``platform_user_id`` is stable; ``username`` can change.

    The id is None only when a source names the viewer without one (Kick's Pusher subscription
    and gift events); a feature that needs the id resolves it by username.
    """

    platform_user_id: str | None
    username: str

    def __post_init__(self) -> None:
        if self.platform_user_id is not None:
            check_text("platform_user_id", self.platform_user_id, ID_MAX)
        check_text("username", self.username, NAME_MAX)


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"

    platform: Platform
    event_id: str
    broadcaster_user_id: str
    occurred_at: datetime
    # Set by a source that reads one Kick chatroom (the Pusher socket): the chatroom a guild chose,
    # which only that guild's choice vouches for. The dispatcher then hands the event only to the
    # guilds whose stored chatroom id is this one. None: the platform itself vouches (a webhook).
    via_chatroom_id: int | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_value(field.name, getattr(self, field.name))

    @property
    def key(self) -> str:
        """Idempotency key, unique across platforms and event kinds."""
        return f"{self.platform}:{self.kind}:{self.event_id}"


@dataclass(frozen=True, kw_only=True)
class ChatMessageSent(Event):
    kind: ClassVar[str] = "chat_message_sent"

    viewer: Viewer
    content: str = ""
    badges: tuple[str, ...] = ()
    reply_to_message_id: str | None = None
    # Twitch's subscriber (or founder) badge: its version (``"3012"``: tier 3, by convention)
    # and the months it shows. None where the platform's badges carry neither (Kick).
    subscriber_badge_version: str | None = None
    subscriber_months: int | None = None
    # The sender's login where it differs from a display name (Twitch's chatter_user_login):
    # what StreamElements keys points by. None where the platform gives only the username.
    login: str | None = None


@dataclass(frozen=True, kw_only=True)
class Subscribed(Event):
    """A viewer subscribed (new or renewal), or received a gifted subscription (``is_gift``).

    ``tier`` is the platform's word for it (Twitch: ``"1000"``, ``"2000"``, ``"3000"``);
    ``is_prime`` is True only where the platform said so (Twitch's chat notifications).
    """

    kind: ClassVar[str] = "subscribed"

    viewer: Viewer
    is_renewal: bool = False
    months: int | None = None
    tier: str | None = None
    expires_at: datetime | None = None
    is_gift: bool = False
    is_prime: bool = False
    # What told us, in the platform's words (Twitch: the EventSub type, ``"channel.subscribe"``);
    # empty where one kind of event is the only source (Kick).
    source_type: str = ""


@dataclass(frozen=True, kw_only=True)
class SubscriptionsGifted(Event):
    """Someone gifted subscriptions. ``gifter`` is None for an anonymous gift.

    ``gift_key`` names the real-world gift, the same whichever event type and transport told
    it (Twitch: ``<gifter id>:<cumulative total>``, or the community gift's own id), so that a
    consumer counting gifts counts each once; None where the platform gives nothing to build it
    from. ``source_type`` is what told us, in the platform's words (as for :class:`Subscribed`).
    """

    kind: ClassVar[str] = "subscriptions_gifted"

    gifter: Viewer | None
    giftees: tuple[Viewer, ...] = ()
    count: int = 0
    expires_at: datetime | None = None
    tier: str | None = None
    gift_key: str | None = None
    source_type: str = ""


@dataclass(frozen=True, kw_only=True)
class RewardRedeemed(Event):
    kind: ClassVar[str] = "reward_redeemed"

    viewer: Viewer
    reward_id: str | None = None
    reward_title: str = ""
    cost: int | None = None
    user_input: str = ""
    status: str = "pending"
    # The platform's id of the redemption, the same in each of its status updates (whose event
    # ids add the status). None where the platform gives none (Kick's chat socket).
    redemption_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class StreamStarted(Event):
    kind: ClassVar[str] = "stream_started"

    title: str = ""


@dataclass(frozen=True, kw_only=True)
class StreamEnded(Event):
    kind: ClassVar[str] = "stream_ended"


@dataclass(frozen=True, kw_only=True)
class StreamMetadataUpdated(Event):
    kind: ClassVar[str] = "stream_metadata_updated"

    title: str = ""
    category: str | None = None
    language: str | None = None
    is_mature: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Followed(Event):
    kind: ClassVar[str] = "followed"

    viewer: Viewer


@dataclass(frozen=True, kw_only=True)
class ViewerBanned(Event):
    """A ban (``expires_at`` is None) or a timeout."""

    kind: ClassVar[str] = "viewer_banned"

    viewer: Viewer
    moderator: Viewer | None = None
    reason: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class VipAdded(Event):
    """A viewer was made a VIP of the channel (by anyone: the dashboard, a command, our grant)."""

    kind: ClassVar[str] = "vip_added"

    viewer: Viewer


@dataclass(frozen=True, kw_only=True)
class VipRemoved(Event):
    kind: ClassVar[str] = "vip_removed"

    viewer: Viewer


@dataclass(frozen=True, kw_only=True)
class KicksGifted(Event):
    kind: ClassVar[str] = "kicks_gifted"

    viewer: Viewer
    amount: int = 0
    gift_name: str = ""
    message: str = ""


# --- events about one guild, not a platform channel ------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GuildEvent(Event):
    """An event that belongs to one guild (say, a member linking an account), not to a channel.

    The dispatcher hands it to ``guild_id`` alone instead of routing by broadcaster.
    """

    guild_id: int
    broadcaster_user_id: str = ""


@dataclass(frozen=True, kw_only=True)
class AccountLinked(GuildEvent):
    """A Discord member linked their platform account (published by the OAuth callback)."""

    kind: ClassVar[str] = "account_linked"

    discord_user_id: int
    viewer: Viewer
    replaced_username: str | None = None


@dataclass(frozen=True, kw_only=True)
class AccountLinkFailed(GuildEvent):
    """A Discord member's link attempt failed and the web side knows who tried (from a verified
    link or sign-in state). ``reason`` is a code: ``declined``, ``link_expired``,
    ``already_linked`` or ``kick_error``; ``viewer`` is the platform account when known."""

    kind: ClassVar[str] = "account_link_failed"

    discord_user_id: int
    reason: str
    viewer: Viewer | None = None


@dataclass(frozen=True, kw_only=True)
class AccountUnlinked(GuildEvent):
    """A member's link was removed outside Discord (the dashboard's /me); the link is gone
    already, and the bot does what follows on Discord (the linked role, watchtime roles, the
    link log), as after !unlink."""

    kind: ClassVar[str] = "account_unlinked"

    discord_user_id: int
    actor_id: int
    viewer: Viewer


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        ChatMessageSent,
        Subscribed,
        SubscriptionsGifted,
        RewardRedeemed,
        StreamStarted,
        StreamEnded,
        StreamMetadataUpdated,
        Followed,
        ViewerBanned,
        KicksGifted,
        VipAdded,
        VipRemoved,
        AccountLinked,
        AccountLinkFailed,
        AccountUnlinked,
    )
}


def utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def system_clock() -> datetime:
    """Now, in UTC: the clock everything runs on unless a test gives another."""
    return datetime.now(UTC)


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of the event, with its ``kind``."""
    return {"kind": event.kind, **{f.name: _encode(getattr(event, f.name)) for f in _fields(event)}}


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """An event class's field types (``get_type_hints`` evaluates them anew on every call:
    a millisecond per decoded event, the dispatcher's largest cost after the database)."""
    return typing.get_type_hints(cls)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_dict` output; ``ValueError`` if it is not one."""
    try:
        cls = EVENT_TYPES[data["kind"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a known event kind: {data!r:.80}") from exc
    hints = _type_hints(cls)
    try:
        values = {
            f.name: _decode(hints[f.name], data[f.name]) for f in _fields(cls) if f.name in data
        }
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed {cls.kind} event: {exc}") from exc


def _fields(event_or_cls: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(event_or_cls)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, Viewer):
        return {"platform_user_id": value.platform_user_id, "username": value.username}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        return tuple(_decode(item_hint, item) for item in value)
    if hint is datetime:
        return utc(datetime.fromisoformat(value))
    if hint is Viewer:
        user_id = value["platform_user_id"]
        return Viewer(None if user_id is None else str(user_id), str(value["username"]))
    if hint is Platform:
        return Platform(value)
    return value


__all__ = [
    "EVENT_TYPES",
    "AccountLinkFailed",
    "AccountLinked",
    "ChatMessageSent",
    "Event",
    "Followed",
    "GuildEvent",
    "InvalidEvent",
    "KicksGifted",
    "Platform",
    "RewardRedeemed",
    "StreamEnded",
    "StreamMetadataUpdated",
    "StreamStarted",
    "Subscribed",
    "SubscriptionsGifted",
    "Viewer",
    "ViewerBanned",
    "VipAdded",
    "VipRemoved",
    "event_from_dict",
    "event_to_dict",
    "utc",
]
