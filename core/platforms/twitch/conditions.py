"""Each EventSub subscription type's version and condition for a broadcaster's own channel, the
same for webhooks (the subscription upkeep) and the WebSocket (``EventSubSupervisor``).

Version 1 unless ``VERSIONS`` says otherwise. Most conditions name only ``broadcaster_user_id``;
chat is read as the broadcaster (``user_id`` too), a follow (version 2) as the broadcaster acting
as their own moderator, and a raid names the channel raided as ``to_broadcaster_user_id``
(``CHANNEL_FIELDS``, :func:`channel_field`: also where a revocation, by webhook or over the
WebSocket, names its channel, and :func:`channel_of`, whose channel a listed subscription is).
"""

from __future__ import annotations

from collections.abc import Mapping

CHAT_TYPES = frozenset({"channel.chat.message", "channel.chat.notification"})
VERSIONS: dict[str, str] = {"channel.follow": "2"}
# The condition field that names the channel, where it is not ``broadcaster_user_id``.
CHANNEL_FIELDS: dict[str, str] = {"channel.raid": "to_broadcaster_user_id"}


def version_of(subscription_type: str) -> str:
    return VERSIONS.get(subscription_type, "1")


def condition_of(subscription_type: str, broadcaster_user_id: str) -> dict[str, str]:
    """The condition of ``subscription_type`` for the broadcaster's own channel."""
    condition = {channel_field(subscription_type): broadcaster_user_id}
    if subscription_type in CHAT_TYPES:
        condition["user_id"] = broadcaster_user_id
    elif subscription_type == "channel.follow":
        condition["moderator_user_id"] = broadcaster_user_id
    return condition


def channel_field(subscription_type: str) -> str:
    """The condition field of ``subscription_type`` that names the channel it is for."""
    return CHANNEL_FIELDS.get(subscription_type, "broadcaster_user_id")


def channel_of(subscription_type: str, condition: Mapping[str, str]) -> str | None:
    """The channel a listed subscription's ``condition`` is for; None when its field is empty
    (a raid subscribed by the raiding channel names no channel raided)."""
    return condition.get(channel_field(subscription_type)) or None


def given_condition(condition: Mapping[str, str]) -> dict[str, str]:
    """A listed condition without the fields left empty (Twitch may list a raid's unset
    ``from_broadcaster_user_id`` as ``""``), to compare with :func:`condition_of`."""
    return {key: value for key, value in condition.items() if value}


__all__ = [
    "CHANNEL_FIELDS",
    "CHAT_TYPES",
    "VERSIONS",
    "channel_field",
    "channel_of",
    "condition_of",
    "given_condition",
    "version_of",
]
