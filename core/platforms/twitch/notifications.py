"""Twitch EventSub notifications into normalized events, leniently.

Every field is treated as optional and of unknown type. The shapes are version 1 of each
subscription type, as documented; examples are in ``tests/fixtures/twitch/`` (webhook bodies:
``{"subscription", "event"}``) and its ``websocket/`` (the same inside a frame). Ids are strings
on Twitch; times are RFC 3339 with up to nine fractional digits. Every string is bounded and
cleaned as for Kick
(:mod:`core.platforms.lenient`): an id that is there but no valid id refuses the delivery
(:class:`InvalidPayload`, 400), text is cleaned and cut, never refused. The same ``event`` object
arrives over webhooks and the EventSub WebSocket, so this knows nothing of the transport.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from core.events import (
    EVENT_ID_MAX,
    ChatMessageSent,
    Cheered,
    Event,
    Followed,
    Platform,
    Raided,
    RewardRedeemed,
    StreamEnded,
    StreamStarted,
    Subscribed,
    SubscriptionEnded,
    SubscriptionsGifted,
    Viewer,
    VipAdded,
    VipRemoved,
    utc,
)
from core.platforms.lenient import (
    NAME_MAX,
    WORD_MAX,
    BadValue,
    as_bool,
    as_id,
    as_list,
    as_mapping,
    as_text,
    as_word,
    checked_int,
)
from core.platforms.payload_reader import PayloadReader, strict_id
from core.platforms.webhook_checks import InvalidPayload, UnusablePayload

MAX_BADGES = 32
SUBSCRIBER_BADGES = ("subscriber", "founder")  # a founder badge stands in for subscriber
REDEMPTION_ADD = "channel.channel_points_custom_reward_redemption.add"
REDEMPTION_UPDATE = "channel.channel_points_custom_reward_redemption.update"


def parse_notification(
    subscription_type: str, body: Mapping[str, Any], *, message_id: str, delivered_at: datetime
) -> Event | None:
    """The normalized event for a verified notification body (``{"subscription", "event"}``),
    or None for a subscription type (or chat notice) we do not handle.

    ``message_id`` (Twitch-Eventsub-Message-Id) is the event id unless the event has its own id
    that another transport would share (a chat message's id, a redemption's id and status, a
    stream's id). ``occurred_at`` is the event's own time when it has one, never later than
    ``delivered_at`` (when Twitch sent the message). Raises :class:`UnusablePayload` or
    :class:`InvalidPayload`.
    """
    parser = _PARSERS.get(subscription_type)
    if parser is None:
        return None
    event = as_mapping(body.get("event"))
    if not event:
        raise UnusablePayload("no event object")
    broadcaster_user_id = (
        strict_id(event, "broadcaster_user_id")
        # a raid names the channel it arrives at as the "to" broadcaster
        or strict_id(event, "to_broadcaster_user_id")
    ) or strict_id(
        as_mapping(as_mapping(body.get("subscription")).get("condition")),
        "broadcaster_user_id",
        label="subscription.condition.broadcaster_user_id",
    )
    if broadcaster_user_id is None:
        raise UnusablePayload("no broadcaster user id")
    notification = _Notification(event, message_id, utc(delivered_at), broadcaster_user_id)
    try:
        return parser(notification)
    except ValueError as exc:  # events check their own values: the last line
        raise InvalidPayload(str(exc)) from exc


class _Notification(PayloadReader):
    """An EventSub ``event`` object: its fields are named under ``event.``."""

    label = "event."
    platform = Platform.TWITCH

    def word(self, *path: str) -> str | None:
        """A short lowercase keyword (a tier, a status, a notice type), or None."""
        return as_word(self.get(*path))

    def viewer(self, prefix: str) -> Viewer | None:
        """The user named by ``<prefix>_id`` / ``_name`` / ``_login``; None without an id."""
        user_id = self.id(f"{prefix}_id")
        if user_id is None:
            return None
        name = as_text(self.get(f"{prefix}_name"), NAME_MAX) or as_text(
            self.get(f"{prefix}_login"), NAME_MAX
        )
        return Viewer(platform_user_id=user_id, username=(name or "").strip())

    def required_viewer(self, prefix: str) -> Viewer:
        viewer = self.viewer(prefix)
        if viewer is None:
            raise UnusablePayload(f"no {prefix}_id")
        return viewer


def _parse_chat_message(n: _Notification) -> ChatMessageSent:
    """No subscription tier: only the badges hint at it. A badge's ``set_id`` is its kind
    ("broadcaster", "moderator", "vip", "subscriber", "founder", ...), its ``id`` the version (for
    "subscriber" by convention 0-99 Tier 1, 2000+ Tier 2, 3000+ Tier 3) and, for "subscriber" and
    "founder", ``info`` the months. In a Shared Chat session ``source_broadcaster_user_id``
    names the channel the message was typed in (this one's own id for its own chat): kept on the
    event, read leniently (an unreadable one is none, never a refused delivery), so that a
    message from another channel is neither a command here nor presence."""
    badges = [as_mapping(badge) for badge in as_list(n.get("badges"))[:MAX_BADGES]]
    set_ids = [(as_text(badge.get("set_id"), WORD_MAX) or "").strip().lower() for badge in badges]
    pairs = zip(badges, set_ids, strict=True)
    subscriber = next((badge for badge, set_id in pairs if set_id in SUBSCRIBER_BADGES), None)
    months = None
    if subscriber is not None:
        try:
            months = checked_int(subscriber.get("info"))
        except BadValue:
            months = None
    return ChatMessageSent(
        **n.common(n.id("message_id")),
        occurred_at=n.delivered_at,  # a chat message carries no time of its own
        viewer=n.required_viewer("chatter_user"),
        content=n.text("message", "text"),
        badges=tuple(set_id for set_id in set_ids if set_id),
        reply_to_message_id=n.id("reply", "parent_message_id"),
        subscriber_badge_version=(
            as_text(subscriber.get("id"), WORD_MAX) or None if subscriber is not None else None
        ),
        subscriber_months=months,
        login=as_text(n.get("chatter_user_login"), NAME_MAX) or None,
        source_broadcaster_user_id=as_id(n.get("source_broadcaster_user_id")),
    )


def _parse_chat_notification(n: _Notification) -> Subscribed | SubscriptionsGifted | None:
    """``sub`` and ``resub`` notices (the one place Twitch says a sub was paid with Prime),
    ``prime_paid_upgrade`` (a Prime sub now paid: Prime no more), and the gifter's side of a
    gift (``community_sub_gift``, and ``sub_gift`` when it belongs to no community gift), whose
    ``gift_key`` is the same as ``channel.subscription.gift``'s for the same gift. A ``sub_gift``
    inside a community gift is one recipient of it: the community notice counts it."""
    notice = n.word("notice_type")
    if notice in ("sub", "resub"):
        return _parse_sub_notice(n, notice)
    if notice == "prime_paid_upgrade":
        return Subscribed(
            **n.common(n.id("message_id")),
            occurred_at=n.delivered_at,
            viewer=n.required_viewer("chatter_user"),
            tier=n.word(notice, "sub_tier") or "1000",  # a Prime sub becomes a paid Tier 1
            is_prime=False,
            source_type="channel.chat.notification",
        )
    if notice == "community_sub_gift":
        return _parse_gift_notice(n, notice, count=n.int(notice, "total") or 0)
    # A community gift's recipients' sub_gift notices name its id; a single gift names none.
    if notice == "sub_gift" and n.id("sub_gift", "community_gift_id") is None:
        return _parse_gift_notice(n, notice, count=1)
    return None


def _parse_sub_notice(n: _Notification, notice: str) -> Subscribed:
    details = as_mapping(n.get(notice))
    months = n.int("resub", "cumulative_months") if notice == "resub" else None
    return Subscribed(
        **n.common(n.id("message_id")),
        occurred_at=n.delivered_at,
        viewer=n.required_viewer("chatter_user"),
        is_renewal=notice == "resub",
        months=months,
        tier=n.word(notice, "sub_tier"),
        is_gift=bool(as_bool(details.get("is_gift"))),
        is_prime=bool(as_bool(details.get("is_prime"))),
        source_type="channel.chat.notification",
    )


def _parse_gift_notice(n: _Notification, notice: str, *, count: int) -> SubscriptionsGifted | None:
    if not as_mapping(n.get(notice)):
        return None
    message_id = n.id("message_id")  # the chat message's: the same over every transport
    anonymous = bool(as_bool(n.get("chatter_is_anonymous")))
    gifter = None if anonymous else n.viewer("chatter_user")
    key = _gift_key(gifter, n.int(notice, "cumulative_total"))
    if key is None and notice == "community_sub_gift":
        community_id = n.id(notice, "id")
        key = f"community:{community_id}" if community_id else None
    elif key is None and message_id is not None:
        key = f"sub_gift:{message_id}"
    return SubscriptionsGifted(
        **n.common(message_id),
        occurred_at=n.delivered_at,
        gifter=gifter,
        count=max(count, 0),
        tier=n.word(notice, "sub_tier"),
        gift_key=key,
        source_type="channel.chat.notification",
    )


def _gift_key(gifter: Viewer | None, cumulative_total: int | None) -> str | None:
    """A gift as Twitch's two gifter-side sources both describe it: the gifter and their running
    total of gifts in the channel after it (unique per gift; None when hidden or anonymous)."""
    if gifter is None or gifter.platform_user_id is None or cumulative_total is None:
        return None
    return f"{gifter.platform_user_id}:{cumulative_total}"


def _parse_subscribe(n: _Notification) -> Subscribed:
    """New subscriptions and gift recipients (``is_gift``), not resubs. ``tier`` is "1000",
    "2000" or "3000"; Prime is reported as "1000"."""
    return Subscribed(
        **n.common(),
        occurred_at=n.delivered_at,
        viewer=n.required_viewer("user"),
        tier=n.word("tier"),
        is_gift=bool(as_bool(n.get("is_gift"))),
        source_type="channel.subscribe",
    )


def _parse_subscription_message(n: _Notification) -> Subscribed:
    """A resub the viewer chose to share."""
    return Subscribed(
        **n.common(),
        occurred_at=n.delivered_at,
        viewer=n.required_viewer("user"),
        is_renewal=True,
        months=n.int("cumulative_months"),
        tier=n.word("tier"),
        source_type="channel.subscription.message",
    )


def _parse_subscription_gift(n: _Notification) -> SubscriptionsGifted:
    """The gifter's side (the ``user_*`` fields are null when anonymous; the recipients arrive
    separately, as ``channel.subscribe`` with ``is_gift``). Keyed by the gift (gifter and
    cumulative total) when Twitch says both, so the webhook and the socket copy are one event on
    the bus; else by the message id. The total counts the gifter's gifts in this channel only,
    so the event id names the channel too: the same total in another channel is another gift."""
    anonymous = bool(as_bool(n.get("is_anonymous")))
    gifter = None if anonymous else n.viewer("user")
    key = _gift_key(gifter, n.int("cumulative_total"))
    return SubscriptionsGifted(
        **n.common(_gift_event_id(n.broadcaster_user_id, key) if key else None),
        occurred_at=n.delivered_at,
        gifter=gifter,
        count=max(n.int("total") or 0, 0),
        tier=n.word("tier"),
        gift_key=key,
        source_type="channel.subscription.gift",
    )


def _gift_event_id(broadcaster_user_id: str, gift_key: str) -> str:
    """``gift:<broadcaster>:<gift key>``, hashed when the ids are too long for an event id."""
    event_id = f"gift:{broadcaster_user_id}:{gift_key}"
    if len(event_id) <= EVENT_ID_MAX:
        return event_id
    return "gift:" + hashlib.sha256(event_id.encode()).hexdigest()[:40]


def _parse_subscription_end(n: _Notification) -> SubscriptionEnded:
    return SubscriptionEnded(
        **n.common(),
        occurred_at=n.delivered_at,
        viewer=n.required_viewer("user"),
        tier=n.word("tier"),
        is_gift=bool(as_bool(n.get("is_gift"))),
    )


def _parse_redemption(n: _Notification) -> RewardRedeemed:
    """The same redemption arrives once per status (add: unfulfilled; update: fulfilled or
    canceled). EventSub writes the status lowercase (Helix's replies uppercase)."""
    status = n.word("status") or "unfulfilled"
    return n.reward_redeemed(status, "user")


def _parse_vip_added(n: _Notification) -> VipAdded:
    return VipAdded(**n.common(), occurred_at=n.delivered_at, viewer=n.required_viewer("user"))


def _parse_vip_removed(n: _Notification) -> VipRemoved:
    return VipRemoved(**n.common(), occurred_at=n.delivered_at, viewer=n.required_viewer("user"))


def _parse_follow(n: _Notification) -> Followed:
    """``channel.follow`` version 2 (its ``followed_at`` is when, never after delivery)."""
    return Followed(
        **n.common(),
        occurred_at=n.occurred_at(n.get("followed_at")),
        viewer=n.required_viewer("user"),
    )


def _parse_raid(n: _Notification) -> Raided:
    """``channel.raid`` to the tracked channel: the raiding channel is the "from" broadcaster."""
    return Raided(
        **n.common(),
        occurred_at=n.delivered_at,
        raider=n.required_viewer("from_broadcaster_user"),
        viewers=max(n.int("viewers") or 0, 0),
    )


def _parse_cheer(n: _Notification) -> Cheered:
    anonymous = bool(as_bool(n.get("is_anonymous")))
    return Cheered(
        **n.common(),
        occurred_at=n.delivered_at,
        viewer=None if anonymous else n.viewer("user"),
        bits=max(n.int("bits") or 0, 0),
        message=n.text("message"),
    )


def _parse_stream_online(n: _Notification) -> StreamStarted:
    """Whatever its ``type`` ("live", "playlist", "watch_party", "premiere", "rerun")."""
    return StreamStarted(**n.common(n.id("id")), occurred_at=n.occurred_at(n.get("started_at")))


def _parse_stream_offline(n: _Notification) -> StreamEnded:
    """The documented event has only the broadcaster; newer payloads add the stream ``id``."""
    return StreamEnded(**n.common(n.id("id")), occurred_at=n.delivered_at)


_PARSERS: dict[str, Callable[[_Notification], Event | None]] = {
    "channel.chat.message": _parse_chat_message,
    "channel.chat.notification": _parse_chat_notification,
    "channel.subscribe": _parse_subscribe,
    "channel.subscription.message": _parse_subscription_message,
    "channel.subscription.gift": _parse_subscription_gift,
    "channel.subscription.end": _parse_subscription_end,
    "channel.cheer": _parse_cheer,  # VIP rules for cheers, and the alerts overlay
    REDEMPTION_ADD: _parse_redemption,
    REDEMPTION_UPDATE: _parse_redemption,
    "channel.vip.add": _parse_vip_added,
    "channel.vip.remove": _parse_vip_removed,
    "stream.online": _parse_stream_online,
    "stream.offline": _parse_stream_offline,
}
# The subscription types read here, in a fixed order (a socket subscribes to them in it).
PARSED_TYPES: tuple[str, ...] = tuple(_PARSERS)
# Read for the alerts overlay, and subscribed to by the webhook upkeep and the socket in their
# own versions and conditions (conditions.py: a follow as version 2 with the broadcaster as
# moderator, a raid into the channel by ``to_broadcaster_user_id``).
ALERT_ONLY_PARSERS: dict[str, Callable[[_Notification], Event | None]] = {
    "channel.follow": _parse_follow,
    "channel.raid": _parse_raid,
}
ALERT_TYPES: tuple[str, ...] = tuple(ALERT_ONLY_PARSERS)
_PARSERS.update(ALERT_ONLY_PARSERS)
TWITCH_SUBSCRIPTION_TYPES: frozenset[str] = frozenset(_PARSERS)

__all__ = [
    "ALERT_TYPES",
    "PARSED_TYPES",
    "TWITCH_SUBSCRIPTION_TYPES",
    "InvalidPayload",
    "UnusablePayload",
    "parse_notification",
]
