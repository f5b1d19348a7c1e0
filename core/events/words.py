"""Each event in a streamer's words, for the dashboard's activity feed: "alice gifted 5 subs",
"bob redeemed Temporary VIP", "the stream went live: Road to 1,000". Pure: no database, no
markup (the page escapes what it shows); a viewer's text is cut short.

``LABELS`` names each event type for the feed's filters ("Chat", "Gifted subs", ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from core.events.base import Event, Viewer
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
from core.events.guild import AccountLinked, AccountLinkFailed, AccountUnlinked

SHORT = 80  # what is kept of a viewer's text
TIERS = {"1000": "tier 1", "2000": "tier 2", "3000": "tier 3"}
LINK_FAILURES = {
    "declined": "declined on the platform",
    "link_expired": "the link had expired",
    "already_linked": "that account is linked to someone else",
    "kick_error": "the platform did not answer",
    "twitch_error": "the platform did not answer",
}

LABELS = {
    "chat_message_sent": "Chat",
    "subscribed": "Subscriptions",
    "subscription_ended": "Subscriptions ended",
    "subscriptions_gifted": "Gifted subs",
    "reward_redeemed": "Rewards",
    "stream_started": "Stream live",
    "stream_ended": "Stream ended",
    "stream_metadata_updated": "Stream title",
    "followed": "Follows",
    "viewer_banned": "Bans",
    "vip_added": "VIP added",
    "vip_removed": "VIP removed",
    "kicks_gifted": "KICKs",  # Kick's own spelling of its currency
    "raided": "Raids",
    "cheered": "Cheers",
    "account_linked": "Links",
    "account_link_failed": "Failed links",
    "account_unlinked": "Unlinks",
}

# Kick's webhook event types (what its ``Kick-Event-Type`` header says) in a streamer's words.
KICK_WEBHOOK_TYPES = {
    "chat.message.sent": "Chat messages",
    "channel.followed": "Follows",
    "channel.subscription.new": "New subscriptions",
    "channel.subscription.renewal": "Resubscriptions",
    "channel.subscription.gifts": "Gifted subs",
    "channel.reward.redemption.updated": "Channel reward redemptions",
    "livestream.status.updated": "Stream going live or offline",
    "livestream.metadata.updated": "Stream title or category",
    "moderation.banned": "Bans",
    "kicks.gifted": "KICKs gifted",
}

# Twitch's EventSub subscription types, the same way.
TWITCH_SUBSCRIPTION_TYPES = {
    "channel.chat.message": "Chat messages",
    "channel.chat.notification": "Chat notices (subs, gifts, raids)",
    "channel.subscribe": "New subscriptions",
    "channel.subscription.message": "Resubscriptions",
    "channel.subscription.gift": "Gifted subs",
    "channel.subscription.end": "Subscriptions ended",
    "stream.online": "Stream going live",
    "stream.offline": "Stream going offline",
    "channel.vip.add": "VIP added",
    "channel.vip.remove": "VIP removed",
    "channel.channel_points_custom_reward_redemption.add": "Channel reward redemptions",
    "channel.channel_points_custom_reward_redemption.update": "Channel reward updates",
    "channel.follow": "Follows",
    "channel.raid": "Raids",
    "channel.cheer": "Cheers",
}


def subscription_types(platform: str, types: Iterable[str]) -> str:
    """Event types the platform is asked to send ("channel.subscription.gifts"), in words
    ("gifted subs"), joined with commas."""
    words = KICK_WEBHOOK_TYPES if platform == "kick" else TWITCH_SUBSCRIPTION_TYPES
    return ", ".join(_lower_first(words.get(t, "other events")) for t in types)


def _lower_first(words: str) -> str:
    """The words with a small first letter, but a name in capitals kept ("KICKs", "VIP")."""
    return words if words[1:2].isupper() else words[:1].lower() + words[1:]


def kick_webhook_type(event_type: str) -> str:
    """Kick's webhook event type in words ("Other events" for one we do not know)."""
    return KICK_WEBHOOK_TYPES.get(event_type, "Other events")


def _who(viewer: Viewer | None) -> str:
    return viewer.username if viewer is not None and viewer.username else "someone"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _many(count: int, noun: str) -> str:
    """``count`` and its noun, singular for one: "1 bit", "1,000 bits"."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


def _chat(e: ChatMessageSent) -> str:
    return f"{_who(e.viewer)}: {_short(e.content)}"


def _subscribed(e: Subscribed) -> str:
    tier = "Prime" if e.is_prime else TIERS.get(e.tier or "", e.tier or "")
    if e.is_renewal and e.months:
        what = f"resubscribed for {_many(e.months, 'month')}"
    elif e.is_gift:
        what = "got a gifted sub"
    else:
        what = "subscribed"
    return f"{_who(e.viewer)} {what}" + (f" ({tier})" if tier else "")


def _gifted(e: SubscriptionsGifted) -> str:
    count = e.count or len(e.giftees) or 1
    gifter = _who(e.gifter) if e.gifter is not None else "An anonymous viewer"
    return f"{gifter} gifted {_many(count, 'sub')}"


def _redeemed(e: RewardRedeemed) -> str:
    title = _short(e.reward_title) or "a reward"
    cost = f" ({_many(e.cost, 'point')})" if e.cost else ""
    said = f": {_short(e.user_input)}" if e.user_input else ""
    state = "" if e.status in ("pending", "unfulfilled", "") else f", {e.status.lower()}"
    return f"{_who(e.viewer)} redeemed {title}{cost}{said}{state}"


def _banned(e: ViewerBanned) -> str:
    how = "timed out" if e.expires_at is not None else "banned"
    by = f" by {_who(e.moderator)}" if e.moderator is not None else ""
    why = f": {_short(e.reason)}" if e.reason else ""
    return f"{_who(e.viewer)} was {how}{by}{why}"


def _kicks(e: KicksGifted) -> str:
    said = f": {_short(e.message)}" if e.message else ""
    return f"{_who(e.viewer)} sent {_many(e.amount, 'KICK')}{said}"


def _raided(e: Raided) -> str:
    viewers = f" with {_many(e.viewers, 'viewer')}" if e.viewers else ""
    return f"{_who(e.raider)} raided{viewers}"


def _cheered(e: Cheered) -> str:
    said = f": {_short(e.message)}" if e.message else ""
    return f"{_who(e.viewer)} cheered {_many(e.bits, 'bit')}{said}"


def _linked(e: AccountLinked, member: str) -> str:
    account = f"{e.platform.name.title()} account {_who(e.viewer)}"
    return f"{member} linked their {account}"


def _link_failed(e: AccountLinkFailed, member: str) -> str:
    why = LINK_FAILURES.get(e.reason, e.reason)
    return f"{member}'s link did not work: {why}"


def _unlinked(e: AccountUnlinked, member: str) -> str:
    return f"{member}'s {e.platform.name.title()} account {_who(e.viewer)} was unlinked"


def _title(e: StreamStarted | StreamMetadataUpdated) -> str:
    return f": {_short(e.title)}" if e.title else ""


SAYINGS: dict[type[Event], Callable] = {  # type: ignore[type-arg]
    ChatMessageSent: _chat,
    Subscribed: _subscribed,
    SubscriptionEnded: lambda e: (
        f"{_who(e.viewer)}'s subscription ended"
        + (f" ({TIERS.get(e.tier or '', e.tier)})" if e.tier else "")
    ),
    SubscriptionsGifted: _gifted,
    RewardRedeemed: _redeemed,
    StreamStarted: lambda e: f"The stream went live{_title(e)}",
    StreamEnded: lambda e: "The stream ended",
    StreamMetadataUpdated: lambda e: (
        f"The stream's title changed{_title(e)}"
        + (f" ({_short(e.category)})" if e.category else "")
    ),
    Followed: lambda e: f"{_who(e.viewer)} followed",
    ViewerBanned: _banned,
    VipAdded: lambda e: f"{_who(e.viewer)} is VIP now",
    VipRemoved: lambda e: f"{_who(e.viewer)} is no longer VIP",
    KicksGifted: _kicks,
    Raided: _raided,
    Cheered: _cheered,
}

# Events about a Discord member (``discord_user_id``), said with the member's name.
MEMBER_SAYINGS: dict[type[Event], Callable] = {  # type: ignore[type-arg]
    AccountLinked: _linked,
    AccountLinkFailed: _link_failed,
    AccountUnlinked: _unlinked,
}


def member_of(event: Event) -> int | None:
    """The Discord member an event is about (whose name :func:`describe` takes), if any."""
    return event.discord_user_id if type(event) in MEMBER_SAYINGS else None  # type: ignore[attr-defined]


def describe(event: Event, member: str | None = None) -> str:
    """What happened, in a sentence; the type's label for an event with no words of its own.
    ``member`` is the name of the Discord member the event is about (:func:`member_of`), "A
    member" when unknown."""
    about_a_member = MEMBER_SAYINGS.get(type(event))
    if about_a_member is not None:
        return about_a_member(event, member or "A member")
    say = SAYINGS.get(type(event))
    return say(event) if say is not None else LABELS.get(event.kind, event.kind)


def label(kind: str) -> str:
    return LABELS.get(kind, kind.replace("_", " ").capitalize())
