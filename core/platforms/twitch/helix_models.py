"""Helix replies as frozen dataclasses, parsed leniently and bounded.

Every field may be missing, null or of another type; an item without its id is dropped, every
string is cut to a length limit and every number kept in range, so a hostile or broken reply
can neither raise here nor blow up what stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from core.platforms.lenient import (
    NAME_MAX,
    as_count,
    as_flag,
    as_id,
    as_list,
    as_mapping,
    as_str,
    as_time,
    clean_text,
    parse_each,
)
from core.platforms.rewards import ChannelReward, parse_channel_reward

T = TypeVar("T")

MAX_TEXT = 500
MAX_URL = 2000


@dataclass(frozen=True)
class TwitchUser:
    id: str
    login: str
    display_name: str
    type: str = ""
    broadcaster_type: str = ""  # "", "affiliate" or "partner"
    description: str = ""
    profile_image_url: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Vip:
    user_id: str
    user_login: str
    user_name: str


@dataclass(frozen=True, kw_only=True)
class CustomReward(ChannelReward):
    broadcaster_id: str
    prompt: str = ""
    background_color: str = ""
    is_in_stock: bool = True
    max_per_stream: int | None = None  # None: no limit
    max_per_user_per_stream: int | None = None
    global_cooldown_seconds: int | None = None


@dataclass(frozen=True)
class Redemption:
    id: str
    broadcaster_id: str
    reward_id: str
    user_id: str
    user_login: str
    user_name: str
    status: str  # UNFULFILLED, FULFILLED or CANCELED (Helix's casing)
    user_input: str = ""
    redeemed_at: datetime | None = None


@dataclass(frozen=True)
class BroadcasterSubscription:
    user_id: str
    user_login: str
    user_name: str
    tier: str  # "1000", "2000" or "3000"; Prime is reported as "1000"
    is_gift: bool = False
    gifter_id: str | None = None
    plan_name: str = ""


@dataclass(frozen=True)
class ChatMessageResult:
    """200 does not mean delivered: ``is_sent`` false with ``drop_reason_*`` (e.g. AutoMod)."""

    message_id: str | None
    is_sent: bool
    drop_reason_code: str | None = None
    drop_reason_message: str | None = None


@dataclass(frozen=True)
class EventSubSubscription:
    id: str
    type: str
    version: str
    status: str
    condition: Mapping[str, str]
    transport_method: str  # "webhook", "websocket" or "conduit"
    callback: str | None = None
    session_id: str | None = None
    cost: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True)
class EventSubList:
    subscriptions: tuple[EventSubSubscription, ...]
    total: int = 0
    total_cost: int = 0
    max_total_cost: int = 0


@dataclass(frozen=True)
class RateLimit:
    """The ``Ratelimit-*`` headers of the last answer: points per minute, points left, and when
    (aware UTC) the bucket is full again."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


# Replies.


def items(body: Any) -> list[Mapping[str, Any]]:
    """The ``data`` list of a Helix reply, keeping only objects."""
    return [entry for entry in as_list(as_mapping(body).get("data")) if isinstance(entry, Mapping)]


def next_cursor(body: Any) -> str | None:
    """``pagination.cursor`` as text the next request can send, cleaned as Kick's is: a lone
    surrogate cannot go into a URL (the request would raise UnicodeEncodeError, not a
    :class:`HelixError`), while Twitch answers a broken cursor with a 400."""
    cursor = as_mapping(as_mapping(body).get("pagination")).get("cursor")
    if not isinstance(cursor, str) or not cursor.strip():
        return None
    return clean_text(cursor, MAX_URL) or None


def parse_items(body: Any, parse: Callable[[Mapping[str, Any]], T | None]) -> list[T]:
    return parse_each(items(body), parse)


def parse_user(item: Mapping[str, Any]) -> TwitchUser | None:
    user_id = as_id(item.get("id"))
    if user_id is None:
        return None
    return TwitchUser(
        id=user_id,
        login=as_str(item.get("login"), NAME_MAX),
        display_name=as_str(item.get("display_name"), NAME_MAX),
        type=as_str(item.get("type"), NAME_MAX),
        broadcaster_type=as_str(item.get("broadcaster_type"), NAME_MAX),
        description=as_str(item.get("description"), MAX_TEXT),
        profile_image_url=as_str(item.get("profile_image_url"), MAX_URL) or None,
        created_at=as_time(item.get("created_at")),
    )


def _user_names(item: Mapping[str, Any]) -> dict[str, str]:
    """The viewer's login and display name, as every Helix item about one spells them."""
    return {
        "user_login": as_str(item.get("user_login"), NAME_MAX),
        "user_name": as_str(item.get("user_name"), NAME_MAX),
    }


def parse_vip(item: Mapping[str, Any]) -> Vip | None:
    user_id = as_id(item.get("user_id"))
    if user_id is None:
        return None
    return Vip(user_id=user_id, **_user_names(item))


def _setting(item: Mapping[str, Any], name: str, field: str) -> int | None:
    setting = as_mapping(item.get(name))
    if not as_flag(setting.get("is_enabled")):
        return None
    return as_count(setting.get(field))


def parse_reward(item: Mapping[str, Any]) -> CustomReward | None:
    return parse_channel_reward(
        item,
        CustomReward,
        broadcaster_id=as_id(item.get("broadcaster_id")) or "",
        prompt=as_str(item.get("prompt"), MAX_TEXT),
        background_color=as_str(item.get("background_color"), 20),
        is_in_stock=as_flag(item.get("is_in_stock"), True),
        max_per_stream=_setting(item, "max_per_stream_setting", "max_per_stream"),
        max_per_user_per_stream=_setting(
            item, "max_per_user_per_stream_setting", "max_per_user_per_stream"
        ),
        global_cooldown_seconds=_setting(
            item, "global_cooldown_setting", "global_cooldown_seconds"
        ),
    )


def parse_redemption(item: Mapping[str, Any]) -> Redemption | None:
    redemption_id = as_id(item.get("id"))
    if redemption_id is None:
        return None
    return Redemption(
        id=redemption_id,
        broadcaster_id=as_id(item.get("broadcaster_id")) or "",
        reward_id=as_id(as_mapping(item.get("reward")).get("id")) or "",
        user_id=as_id(item.get("user_id")) or "",
        **_user_names(item),
        status=as_str(item.get("status"), 20).upper(),
        user_input=as_str(item.get("user_input"), MAX_TEXT),
        redeemed_at=as_time(item.get("redeemed_at")),
    )


def parse_subscription(item: Mapping[str, Any]) -> BroadcasterSubscription | None:
    user_id = as_id(item.get("user_id"))
    if user_id is None:
        return None
    return BroadcasterSubscription(
        user_id=user_id,
        **_user_names(item),
        tier=as_str(item.get("tier"), 10),
        is_gift=as_flag(item.get("is_gift")),
        gifter_id=as_id(item.get("gifter_id")),
        plan_name=as_str(item.get("plan_name"), NAME_MAX),
    )


def parse_chat_result(body: Any) -> ChatMessageResult:
    """The first item of Send Chat Message's ``data``; no item reads as not sent."""
    first = next(iter(items(body)), {})
    reason = as_mapping(first.get("drop_reason"))
    return ChatMessageResult(
        message_id=as_id(first.get("message_id")),
        is_sent=as_flag(first.get("is_sent")),
        drop_reason_code=as_str(reason.get("code"), NAME_MAX) or None,
        drop_reason_message=as_str(reason.get("message"), MAX_TEXT) or None,
    )


def parse_eventsub(item: Mapping[str, Any]) -> EventSubSubscription | None:
    subscription_id = as_id(item.get("id"))
    if subscription_id is None:
        return None
    transport = as_mapping(item.get("transport"))
    condition = {
        name: text
        for key, value in list(as_mapping(item.get("condition")).items())[:20]
        if isinstance(key, str)
        and (name := clean_text(key, NAME_MAX))
        and (text := as_id(value)) is not None
    }
    return EventSubSubscription(
        id=subscription_id,
        type=as_str(item.get("type"), NAME_MAX),
        version=as_id(item.get("version")) or "",
        status=as_str(item.get("status"), NAME_MAX),
        condition=condition,
        transport_method=as_str(transport.get("method"), 20),
        callback=as_str(transport.get("callback"), MAX_URL) or None,
        session_id=as_id(transport.get("session_id")),
        cost=as_count(item.get("cost")) or 0,
        created_at=as_time(item.get("created_at")),
    )


def parse_eventsub_totals(body: Any) -> tuple[int, int, int]:
    """``total``, ``total_cost`` and ``max_total_cost`` of an EventSub reply."""
    fields = as_mapping(body)
    return (
        as_count(fields.get("total")) or 0,
        as_count(fields.get("total_cost")) or 0,
        as_count(fields.get("max_total_cost")) or 0,
    )


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    reset = as_count(headers.get("Ratelimit-Reset"), high=10**11)
    return RateLimit(
        limit=as_count(headers.get("Ratelimit-Limit")),
        remaining=as_count(headers.get("Ratelimit-Remaining")),
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
    )


__all__ = [
    "BroadcasterSubscription",
    "ChatMessageResult",
    "CustomReward",
    "EventSubList",
    "EventSubSubscription",
    "RateLimit",
    "Redemption",
    "TwitchUser",
    "Vip",
    "next_cursor",
    "parse_chat_result",
    "parse_eventsub",
    "parse_eventsub_totals",
    "parse_items",
    "parse_rate_limit",
    "parse_redemption",
    "parse_reward",
    "parse_subscription",
    "parse_user",
    "parse_vip",
]
