"""Kick's REST API replies as frozen dataclasses, and the lenient parsers that make them: ids
become strings, missing fields get defaults, and an entry without its id is left out.

Only :mod:`core.platforms.kick.api` calls the parsers; everything else imports the dataclasses
from there or from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from core.platforms.lenient import NAME_MAX, parse_each
from core.platforms.lenient import as_count as _count
from core.platforms.lenient import as_flag as _flag
from core.platforms.lenient import as_id as _id
from core.platforms.lenient import as_int as _int
from core.platforms.lenient import as_list as _list
from core.platforms.lenient import as_mapping as _mapping
from core.platforms.lenient import as_str as _str
from core.platforms.lenient import as_text as _text
from core.platforms.lenient import as_time as _time
from core.platforms.lenient import as_word as _word
from core.platforms.rewards import ChannelReward, parse_channel_reward

T = TypeVar("T")


@dataclass(frozen=True)
class KickUser:
    user_id: str
    name: str
    email: str | None = None
    profile_picture: str | None = None


@dataclass(frozen=True)
class KickCategory:
    id: str
    name: str
    thumbnail: str | None = None


@dataclass(frozen=True)
class KickChannel:
    broadcaster_user_id: str
    slug: str
    description: str = ""
    banner_picture: str | None = None
    stream_title: str = ""
    category: KickCategory | None = None
    is_live: bool = False
    is_mature: bool = False
    language: str | None = None
    stream_started_at: datetime | None = None
    viewer_count: int = 0  # 0 as well when the streamer hides it
    thumbnail: str | None = None
    custom_tags: tuple[str, ...] = ()
    active_subscribers_count: int | None = None
    # Only the owner's own channel, with streamkey:read, carries these.
    stream_url: str | None = field(default=None, repr=False)
    stream_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Livestream:
    broadcaster_user_id: str
    channel_id: str | None = None
    slug: str = ""
    stream_title: str = ""
    started_at: datetime | None = None
    viewer_count: int = 0
    language: str | None = None
    has_mature_content: bool = False
    category: KickCategory | None = None
    thumbnail: str | None = None
    profile_picture: str | None = None
    custom_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubscriptionResult:
    """Kick's answer for one event of a subscription request: an id, or an error."""

    name: str
    version: int
    subscription_id: str | None = None
    error: str | None = None

    @property
    def is_subscribed(self) -> bool:
        return self.subscription_id is not None and self.error is None


@dataclass(frozen=True)
class Subscription:
    id: str
    broadcaster_user_id: str
    event: str
    version: int
    method: str = "webhook"


@dataclass(frozen=True, kw_only=True)
class Reward(ChannelReward):
    description: str = ""
    background_color: str = "#00e701"


@dataclass(frozen=True)
class Redemption:
    id: str
    reward_id: str | None
    reward_title: str
    redeemer_user_id: str | None
    status: str  # pending, accepted or rejected
    user_input: str = ""
    redeemed_at: datetime | None = None


@dataclass(frozen=True)
class FailedRedemption:
    id: str
    reason: str


@dataclass(frozen=True)
class RedemptionUpdate:
    """The outcome of accepting or rejecting: the ids Kick updated and those it refused."""

    updated_ids: tuple[str, ...] = ()
    failed: tuple[FailedRedemption, ...] = ()


# Parsing: lenient about every field and its type.


def reply_data(body: Any) -> Any:
    if isinstance(body, Mapping) and "data" in body:
        return body["data"]
    return body


def page_items(body: Any) -> Any:
    """The list in a paged reply: ``data`` itself, or a list inside it."""
    data = reply_data(body)
    if isinstance(data, Mapping):
        for key in ("data", "items", "livestreams", "redemptions"):
            if isinstance(data.get(key), list):
                return data[key]
    return data


def next_cursor(body: Any) -> str | None:
    for holder in (body, reply_data(body)):
        mapping = _mapping(holder)
        cursor = _text(_mapping(mapping.get("pagination")).get("next_cursor"))
        cursor = cursor or _text(mapping.get("next_cursor"))
        if cursor:
            return cursor
    return None


def parse_list(data: Any, parse: Callable[[Mapping[str, Any]], T | None]) -> list[T]:
    return parse_each((_mapping(entry) for entry in _list(data)), parse)


def parse_user(item: Mapping[str, Any]) -> KickUser | None:
    user_id = _id(item.get("user_id"))
    if user_id is None:
        return None
    return KickUser(
        user_id=user_id,
        name=_str(item.get("name"), NAME_MAX),
        email=_text(item.get("email")) or None,
        profile_picture=_text(item.get("profile_picture")) or None,
    )


def _parse_category(value: Any) -> KickCategory | None:
    item = _mapping(value)
    category_id = _id(item.get("id"))
    name = _text(item.get("name"))
    if category_id is None and not name:
        return None
    return KickCategory(
        id=category_id or "",
        name=name or "",
        thumbnail=_text(item.get("thumbnail")) or None,
    )


def parse_channel(item: Mapping[str, Any]) -> KickChannel | None:
    broadcaster_user_id = _id(item.get("broadcaster_user_id"))
    if broadcaster_user_id is None:
        return None
    stream = _mapping(item.get("stream"))
    return KickChannel(
        broadcaster_user_id=broadcaster_user_id,
        slug=_str(item.get("slug"), NAME_MAX),
        description=_str(item.get("channel_description")),
        banner_picture=_text(item.get("banner_picture")) or None,
        stream_title=_str(item.get("stream_title")),
        category=_parse_category(item.get("category")),
        is_live=_flag(stream.get("is_live")),
        is_mature=_flag(stream.get("is_mature")),
        language=_text(stream.get("language")) or None,
        stream_started_at=_time(stream.get("start_time")),
        viewer_count=_count(stream.get("viewer_count")) or 0,
        thumbnail=_text(stream.get("thumbnail")) or None,
        custom_tags=_tags(item.get("custom_tags") or stream.get("custom_tags")),
        active_subscribers_count=_count(item.get("active_subscribers_count")),
        stream_url=_text(stream.get("url")) or None,
        stream_key=_text(stream.get("key")) or None,
    )


def parse_livestream(item: Mapping[str, Any]) -> Livestream | None:
    broadcaster_user_id = _id(item.get("broadcaster_user_id"))
    if broadcaster_user_id is None:
        return None
    return Livestream(
        broadcaster_user_id=broadcaster_user_id,
        channel_id=_id(item.get("channel_id")),
        slug=_str(item.get("slug"), NAME_MAX),
        stream_title=_str(item.get("stream_title")),
        started_at=_time(item.get("started_at")),
        viewer_count=_count(item.get("viewer_count")) or 0,
        language=_text(item.get("language")) or None,
        has_mature_content=_flag(item.get("has_mature_content")),
        category=_parse_category(item.get("category")),
        thumbnail=_text(item.get("thumbnail")) or None,
        profile_picture=_text(item.get("profile_picture")) or None,
        custom_tags=_tags(item.get("custom_tags")),
    )


REFUSED_WORDS = "Kick refused it"  # a refusal that gives no reason of its own


def parse_subscription_result(item: Mapping[str, Any]) -> SubscriptionResult | None:
    name = _text(item.get("name"))
    if not name:
        return None
    return SubscriptionResult(
        name=name,
        version=_int(item.get("version")) or 1,
        subscription_id=_id(item.get("subscription_id")),
        error=_subscription_error(item),
    )


def _subscription_error(item: Mapping[str, Any]) -> str | None:
    """Kick's words for an event it did not subscribe; an ``error`` of ``false``, ``0``,
    ``null`` or blank (any empty value) is no error. An ``error`` that is no text (``true``, a
    number, an object) says no reason: the result's ``message`` (or the object's) does, else
    :data:`REFUSED_WORDS`."""
    error = item.get("error")
    if not error or (isinstance(error, str) and not error.strip()):
        return None
    if isinstance(error, str):
        return _text(error)
    for said in (item.get("message"), _mapping(error).get("message")):
        if isinstance(said, str) and said.strip():
            return _text(said.strip())
    return REFUSED_WORDS


def parse_subscription(item: Mapping[str, Any]) -> Subscription | None:
    subscription_id = _id(item.get("id"))
    if subscription_id is None:
        return None
    return Subscription(
        id=subscription_id,
        broadcaster_user_id=_id(item.get("broadcaster_user_id")) or "",
        event=_str(item.get("event")),
        version=_int(item.get("version")) or 1,
        method=_text(item.get("method")) or "webhook",
    )


def parse_reward(item: Mapping[str, Any]) -> Reward | None:
    return parse_channel_reward(
        item,
        Reward,
        description=_str(item.get("description")),
        background_color=_text(item.get("background_color")) or "#00e701",
    )


def parse_redemption_group(group: Any) -> list[Redemption]:
    reward = _mapping(_mapping(group).get("reward"))
    reward_id = _id(reward.get("id"))
    reward_title = _str(reward.get("title"))
    redemptions: list[Redemption] = []
    for entry in _list(_mapping(group).get("redemptions")):
        item = _mapping(entry)
        redemption_id = _id(item.get("id"))
        if redemption_id is None:
            continue
        redemptions.append(
            Redemption(
                id=redemption_id,
                reward_id=reward_id,
                reward_title=reward_title,
                redeemer_user_id=_id(_mapping(item.get("redeemer")).get("user_id")),
                status=_word(item.get("status")) or "pending",
                user_input=_str(item.get("user_input")),
                redeemed_at=_time(item.get("redeemed_at")),
            )
        )
    return redemptions


def parse_redemption_update(reply: Any) -> RedemptionUpdate:
    """Kick's reply shape is not documented; third-party SDKs read ``data`` as the updated
    redemptions and ``failed`` as ``[{id, reason}]``, at the top level or inside ``data``."""
    data = reply_data(reply)
    updated = data if isinstance(data, list) else _list(_mapping(data).get("redemptions"))
    failed = _list(_mapping(reply).get("failed")) or _list(_mapping(data).get("failed"))
    return RedemptionUpdate(
        updated_ids=tuple(i for e in updated if (i := _id(_mapping(e).get("id")))),
        failed=tuple(
            FailedRedemption(i, _text(_mapping(e).get("reason")) or "UNKNOWN")
            for e in failed
            if (i := _id(_mapping(e).get("id")))
        ),
    )


def parse_public_key(reply: Any, limit: int) -> str | None:
    """The PEM text of ``GET /public/v1/public-key``'s ``{"data": {"public_key": <PEM>}}``, cut
    at ``limit`` characters; None when there is no text there."""
    key = _mapping(reply_data(reply)).get("public_key")
    return _text(key, limit) if isinstance(key, str) else None


def _tags(value: Any) -> tuple[str, ...]:
    return tuple(tag for entry in _list(value) if (tag := _text(entry)))


__all__ = [
    "FailedRedemption",
    "KickCategory",
    "KickChannel",
    "KickUser",
    "Livestream",
    "Redemption",
    "RedemptionUpdate",
    "Reward",
    "Subscription",
    "SubscriptionResult",
    "next_cursor",
    "page_items",
    "parse_channel",
    "parse_list",
    "parse_livestream",
    "parse_public_key",
    "parse_redemption_group",
    "parse_redemption_update",
    "parse_reward",
    "parse_subscription",
    "parse_subscription_result",
    "parse_user",
    "reply_data",
]
