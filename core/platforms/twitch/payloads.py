"""Raw Twitch EventSub shapes (version 1 of each subscription type), as documented.

A webhook POST body is ``{"subscription": Subscription, "event": <one of the events below>}``;
a challenge adds ``challenge``, a revocation has only ``subscription``. Every key is optional
(``total=False``): the parser in :mod:`core.platforms.twitch.notifications` checks every value
before it uses it. Ids are strings on Twitch; times are RFC 3339 with up to nine fractional
digits.
"""

from __future__ import annotations

from typing import TypedDict


class Transport(TypedDict, total=False):
    method: str  # "webhook" | "websocket" | "conduit"
    callback: str
    session_id: str


class Subscription(TypedDict, total=False):
    id: str
    type: str
    version: str
    status: str  # "enabled", or why it was revoked: "authorization_revoked", "user_removed", ...
    cost: int
    condition: dict[str, str]
    transport: Transport
    created_at: str


class Body(TypedDict, total=False):
    subscription: Subscription
    event: dict[str, object]
    challenge: str  # webhook_callback_verification only


class Broadcaster(TypedDict, total=False):
    broadcaster_user_id: str
    broadcaster_user_login: str
    broadcaster_user_name: str


class UserEvent(Broadcaster, total=False):
    """``channel.vip.add``, ``channel.vip.remove``: the user and the broadcaster."""

    user_id: str
    user_login: str
    user_name: str


class Badge(TypedDict, total=False):
    set_id: str  # "broadcaster", "moderator", "vip", "subscriber", "founder", ...
    id: str  # the version: for "subscriber", 0-99 tier 1, 2000+ tier 2, 3000+ tier 3 by convention
    info: str  # for "subscriber" and "founder": the months


class ChatText(TypedDict, total=False):
    text: str
    fragments: list[dict[str, object]]


class ChatReply(TypedDict, total=False):
    parent_message_id: str
    parent_user_id: str
    thread_message_id: str


class ChatMessageEvent(Broadcaster, total=False):
    """``channel.chat.message``. No subscription tier: only the badges hint at it."""

    chatter_user_id: str
    chatter_user_login: str
    chatter_user_name: str
    message_id: str
    message: ChatText
    message_type: str
    badges: list[Badge]
    color: str
    reply: ChatReply | None
    channel_points_custom_reward_id: str | None
    source_broadcaster_user_id: str | None  # shared chat: the channel the message was sent in


class NoticeSub(TypedDict, total=False):
    sub_tier: str
    is_prime: bool
    duration_months: int


class NoticeResub(NoticeSub, total=False):
    cumulative_months: int
    streak_months: int | None
    is_gift: bool


class NoticeCommunityGift(TypedDict, total=False):
    id: str  # the community gift's own id; its recipients' sub_gift notices name it
    total: int
    sub_tier: str
    cumulative_total: int | None  # the gifter's running total; null when anonymous or hidden


class NoticeSubGift(TypedDict, total=False):
    sub_tier: str
    duration_months: int
    cumulative_total: int | None
    recipient_user_id: str
    recipient_user_login: str
    recipient_user_name: str
    community_gift_id: str | None  # null for a single gift


class NoticePrimePaidUpgrade(TypedDict, total=False):
    sub_tier: str


class ChatNotificationEvent(Broadcaster, total=False):
    """``channel.chat.notification``: the one source that says a sub was paid with Prime, and
    the gifter's side of gifts (``community_sub_gift``, ``sub_gift``)."""

    chatter_user_id: str
    chatter_user_login: str
    chatter_user_name: str
    chatter_is_anonymous: bool
    message_id: str
    notice_type: str  # "sub", "resub", "sub_gift", "community_sub_gift", "raid", ...
    sub: NoticeSub | None
    resub: NoticeResub | None
    community_sub_gift: NoticeCommunityGift | None
    sub_gift: NoticeSubGift | None
    prime_paid_upgrade: NoticePrimePaidUpgrade | None


class SubscribeEvent(UserEvent, total=False):
    """``channel.subscribe``: new subscriptions and gift recipients (``is_gift``); not resubs."""

    tier: str  # "1000" | "2000" | "3000"; Prime is reported as "1000"
    is_gift: bool


class SubscriptionMessageEvent(UserEvent, total=False):
    """``channel.subscription.message``: a resub the viewer chose to share."""

    tier: str
    message: dict[str, object]
    cumulative_months: int
    streak_months: int | None
    duration_months: int


class SubscriptionGiftEvent(Broadcaster, total=False):
    """``channel.subscription.gift``: the gifter's side. The ``user_*`` fields are null when
    anonymous; the recipients arrive separately as ``channel.subscribe`` with ``is_gift``."""

    user_id: str | None
    user_login: str | None
    user_name: str | None
    total: int
    tier: str
    cumulative_total: int | None
    is_anonymous: bool


class Reward(TypedDict, total=False):
    id: str
    title: str
    cost: int
    prompt: str


class RedemptionEvent(UserEvent, total=False):
    """``channel.channel_points_custom_reward_redemption.add`` / ``.update``. ``status`` is
    lowercase here (``unfulfilled``, ``fulfilled``, ``canceled``, ``unknown``)."""

    id: str
    user_input: str
    status: str
    reward: Reward
    redeemed_at: str


class StreamOnlineEvent(Broadcaster, total=False):
    id: str
    type: str  # "live", "playlist", "watch_party", "premiere", "rerun"
    started_at: str


class StreamOfflineEvent(Broadcaster, total=False):
    """The documented event has only the broadcaster; newer payloads add the stream ``id``."""

    id: str
