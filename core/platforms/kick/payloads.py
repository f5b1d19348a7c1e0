"""Raw Kick webhook payload shapes, as documented (events/event-types.md, version 1).

Every key is optional (``total=False``): real deliveries leave keys out, send null where the docs
show a value, and send numbers where the docs show strings. These types document the shapes; the
parser in :mod:`core.platforms.kick.webhook` checks every value before it uses it.
"""

from __future__ import annotations

from typing import TypedDict


class Badge(TypedDict, total=False):
    text: str
    type: str
    count: int


class Identity(TypedDict, total=False):
    username_color: str
    badges: list[Badge] | None


class User(TypedDict, total=False):
    """A Kick account. ``identity`` is null for broadcasters and replied-to senders; reward and
    kicks events carry users without ``is_anonymous`` and ``identity``."""

    is_anonymous: bool | None
    user_id: int | str | None
    username: str | None
    is_verified: bool | None
    profile_picture: str | None
    channel_slug: str | None
    identity: Identity | None


class EmotePosition(TypedDict, total=False):
    s: int
    e: int


class Emote(TypedDict, total=False):
    emote_id: str
    positions: list[EmotePosition]


class RepliedMessage(TypedDict, total=False):
    message_id: str
    content: str
    sender: User


class ChatMessagePayload(TypedDict, total=False):
    """``chat.message.sent``."""

    message_id: str
    replies_to: RepliedMessage | None
    broadcaster: User
    sender: User
    content: str
    emotes: list[Emote] | None
    created_at: str


class FollowPayload(TypedDict, total=False):
    """``channel.followed``."""

    broadcaster: User
    follower: User


class SubscriptionPayload(TypedDict, total=False):
    """``channel.subscription.new`` and ``channel.subscription.renewal``."""

    broadcaster: User
    subscriber: User
    duration: int
    created_at: str
    expires_at: str | None


class SubscriptionGiftsPayload(TypedDict, total=False):
    """``channel.subscription.gifts``. Every ``gifter`` field but ``is_anonymous`` is null when the
    gift is anonymous."""

    broadcaster: User
    gifter: User
    giftees: list[User]
    created_at: str
    expires_at: str | None


class Reward(TypedDict, total=False):
    id: str
    title: str
    cost: int
    description: str


class RewardRedemptionPayload(TypedDict, total=False):
    """``channel.reward.redemption.updated``. ``status`` is ``pending``, ``accepted`` or
    ``rejected``; the same redemption ``id`` arrives once per status."""

    id: str
    user_input: str
    status: str
    redeemed_at: str
    reward: Reward
    redeemer: User
    broadcaster: User


class LivestreamStatusPayload(TypedDict, total=False):
    """``livestream.status.updated``. ``ended_at`` is null while live."""

    broadcaster: User
    is_live: bool
    title: str
    started_at: str | None
    ended_at: str | None


class Category(TypedDict, total=False):
    id: int
    name: str
    thumbnail: str


class LivestreamMetadata(TypedDict, total=False):
    title: str
    language: str
    has_mature_content: bool
    category: Category | None


class LivestreamMetadataPayload(TypedDict, total=False):
    """``livestream.metadata.updated``."""

    broadcaster: User
    metadata: LivestreamMetadata


class BanMetadata(TypedDict, total=False):
    """``expires_at`` is null for a permanent ban and set for a timeout."""

    reason: str
    created_at: str
    expires_at: str | None


class BanPayload(TypedDict, total=False):
    """``moderation.banned``."""

    broadcaster: User
    moderator: User
    banned_user: User
    metadata: BanMetadata


class KicksGift(TypedDict, total=False):
    amount: int
    name: str
    type: str
    tier: str
    message: str
    pinned_time_seconds: int


class KicksGiftedPayload(TypedDict, total=False):
    """``kicks.gifted``."""

    broadcaster: User
    sender: User
    gift: KicksGift
    created_at: str


__all__ = [
    "Badge",
    "BanMetadata",
    "BanPayload",
    "Category",
    "ChatMessagePayload",
    "Emote",
    "EmotePosition",
    "FollowPayload",
    "Identity",
    "KicksGift",
    "KicksGiftedPayload",
    "LivestreamMetadata",
    "LivestreamMetadataPayload",
    "LivestreamStatusPayload",
    "RepliedMessage",
    "Reward",
    "RewardRedemptionPayload",
    "SubscriptionGiftsPayload",
    "SubscriptionPayload",
    "User",
]
