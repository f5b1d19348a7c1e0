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

The events are split by what they are about: ``base`` (the platform, the viewer, the Event base,
UTC time), ``channel`` (a platform channel's events), ``guild`` (one guild's), ``codec`` (to and
from JSON). Import them from here.
"""

from core.events.base import (
    EVENT_ID_MAX,
    ID_MAX,
    NAME_MAX,
    TEXT_MAX,
    Event,
    InvalidEvent,
    Platform,
    Viewer,
    check_text,
    system_clock,
    utc,
    visible_name,
)
from core.events.channel import (
    ChatMessageSent,
    Cheered,
    Followed,
    KicksGifted,
    Raided,
    RewardRedeemed,
    StreamEnded,
    StreamMetadataUpdated,
    StreamStarted,
    Subscribed,
    SubscriptionEnded,
    SubscriptionsGifted,
    ViewerBanned,
    VipAdded,
    VipRemoved,
)
from core.events.codec import EVENT_TYPES, event_from_dict, event_to_dict
from core.events.guild import AccountLinked, AccountLinkFailed, AccountUnlinked, GuildEvent

__all__ = [
    "EVENT_ID_MAX",
    "EVENT_TYPES",
    "ID_MAX",
    "NAME_MAX",
    "TEXT_MAX",
    "AccountLinkFailed",
    "AccountLinked",
    "AccountUnlinked",
    "ChatMessageSent",
    "Cheered",
    "Event",
    "Followed",
    "GuildEvent",
    "InvalidEvent",
    "KicksGifted",
    "Platform",
    "Raided",
    "RewardRedeemed",
    "StreamEnded",
    "StreamMetadataUpdated",
    "StreamStarted",
    "Subscribed",
    "SubscriptionEnded",
    "SubscriptionsGifted",
    "Viewer",
    "ViewerBanned",
    "VipAdded",
    "VipRemoved",
    "check_text",
    "event_from_dict",
    "event_to_dict",
    "system_clock",
    "utc",
    "visible_name",
]
