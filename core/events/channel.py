"""Events on a platform channel: chat, subscriptions and gifts, rewards, stream status, follows,
bans, VIP changes. The dispatcher routes them by broadcaster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from core.events.base import Event, Platform, Viewer


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
    # Twitch's Shared Chat: the channel the message was typed in (source_broadcaster_user_id).
    # None outside a shared chat session (and on Kick, and in events stored before it was read).
    source_broadcaster_user_id: str | None = None

    @property
    def from_another_channel(self) -> bool:
        """Typed in another channel of a Shared Chat session and shown in this one: that
        channel's chat, not this one's (no command answered here, no presence, no points)."""
        source = self.source_broadcaster_user_id
        return source is not None and source != self.broadcaster_user_id


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
class SubscriptionEnded(Event):
    """A viewer's subscription ended (Twitch's ``channel.subscription.end``): it was not renewed,
    or a gifted one ran out. ``tier`` is the platform's word for the tier that ended."""

    kind: ClassVar[str] = "subscription_ended"

    viewer: Viewer
    tier: str | None = None
    is_gift: bool = False


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

    @property
    def told_again_with_its_key(self) -> bool:
        """A Twitch gift without a key (the gifter's total hidden, or an anonymous gift): its
        chat notice, which names the gift, tells it too, and is the copy to count; this one
        has no way to be recognised as the same gift."""
        return self.platform == Platform.TWITCH and not self.gift_key


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


@dataclass(frozen=True, kw_only=True)
class Raided(Event):
    """Another channel sent its viewers here (Twitch's raid, Kick's host). ``raider`` is the
    other channel's broadcaster; ``viewers`` how many came, when the platform says."""

    kind: ClassVar[str] = "raided"

    raider: Viewer
    viewers: int = 0
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Cheered(Event):
    """A viewer cheered bits (Twitch). ``viewer`` is None for an anonymous cheer."""

    kind: ClassVar[str] = "cheered"

    viewer: Viewer | None
    bits: int = 0
    message: str = ""


# Every channel event, for the codec (its order is the order the kinds are listed in).
CHANNEL_EVENTS: tuple[type[Event], ...] = (
    ChatMessageSent,
    Subscribed,
    SubscriptionEnded,
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
    Raided,
    Cheered,
)
