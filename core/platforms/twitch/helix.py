"""Twitch's Helix API over the shared :class:`~core.platforms.http.HttpClient`.

Every method takes the token to send (a broadcaster's, the bot's or the app's); every request
carries ``Client-Id``. Replies are parsed by :mod:`core.platforms.twitch.helix_models`, whose
types this module re-exports; refusals are typed by Helix's status (never by its text).

Retries (see docs/twitch.md):
- 429: when ``Ratelimit-Remaining`` is 0, wait until ``Ratelimit-Reset`` (or ``Retry-After``);
  otherwise it is an endpoint's own limit (VIP changes: 10 per 10 s) and the client waits that
  window, or backs off. Creating an EventSub subscription answers 429 for "3 with this type and
  condition", which no wait cures: that one raises at once. A wait longer than
  ``max_retry_after`` raises :class:`RateLimited` with the wait for the caller.
- A failure to connect is always retried (nothing reached Twitch).
- 5xx, a timeout or a dropped connection is retried only for requests safe to repeat (reads,
  removals, reward updates): adding a VIP, creating a reward or a subscription, setting a
  redemption's status or sending a chat line again after Twitch may have done it would answer a
  confusing 409/422/404 or post twice, so those raise at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from core.platforms.twitch.helix_models import (
    BroadcasterSubscription,
    ChatMessageResult,
    CustomReward,
    EventSubList,
    EventSubSubscription,
    RateLimit,
    Redemption,
    TwitchUser,
    Vip,
    next_cursor,
    parse_chat_result,
    parse_eventsub,
    parse_eventsub_totals,
    parse_items,
    parse_redemption,
    parse_reward,
    parse_subscription,
    parse_user,
    parse_vip,
)
from core.platforms.twitch.helix_transport import (
    MAX_PAGES,
    BadRequest,
    Conflict,
    Forbidden,
    HelixError,
    HelixTransport,
    HelixUnreachable,
    NotFound,
    RateLimited,
    TooEarly,
    Unauthorized,
    Unprocessable,
)

DEFAULT_HELIX_BASE_URL = "https://api.twitch.tv/helix"
MAX_CHAT_LENGTH = 500
MAX_REWARD_TITLE = 45
MAX_REWARD_PROMPT = 200
VIP_WINDOW_SECONDS = 10.0  # Twitch allows 10 VIP additions (or removals) per 10 s
_IDS_PER_REQUEST = 100
_REWARD_IDS_PER_REQUEST = 50
_REDEMPTION_IDS_PER_REQUEST = 50
RedemptionStatus = Literal["UNFULFILLED", "FULFILLED", "CANCELED"]


class HelixClient(HelixTransport):
    """Helix's endpoints that StreamKeeper uses; see :class:`HelixTransport` for the
    constructor (base URL, client id, retries, clock)."""

    # Users

    async def get_users(
        self, token: str, *, ids: Iterable[str] = (), logins: Iterable[str] = ()
    ) -> list[TwitchUser]:
        """Users by id and login (100 per request, combined); with neither, the token's user."""
        wanted = [("id", i) for i in _unique(ids)] + [("login", n) for n in _unique(logins)]
        if not wanted:
            return parse_items(await self._json("GET", "/users", token), parse_user)
        users: list[TwitchUser] = []
        for chunk in _chunks(wanted, _IDS_PER_REQUEST):
            users += parse_items(await self._json("GET", "/users", token, params=chunk), parse_user)
        return users

    # VIPs

    async def get_vips(
        self, token: str, broadcaster_id: str, user_ids: Iterable[str] = ()
    ) -> list[Vip]:
        """Every VIP of the channel, or those among ``user_ids`` (non-VIPs are left out)."""
        wanted = _unique(user_ids)
        base = [("broadcaster_id", broadcaster_id), ("first", "100")]
        if not wanted:
            return [vip async for vip in self._pages("/channels/vips", token, base, parse_vip)]
        vips: list[Vip] = []
        for chunk in _chunks(wanted, _IDS_PER_REQUEST):
            params = base + [("user_id", user_id) for user_id in chunk]
            vips += [vip async for vip in self._pages("/channels/vips", token, params, parse_vip)]
        return vips

    async def add_vip(self, token: str, broadcaster_id: str, user_id: str) -> None:
        """Conflict: no free slot. Unprocessable: a moderator, or already VIP. TooEarly: no
        "Build a Community" yet. BadRequest: the user is blocked from the channel."""
        params = {"broadcaster_id": broadcaster_id, "user_id": user_id}
        await self._request(
            "POST",
            "/channels/vips",
            token,
            params=params,
            is_idempotent=False,
            endpoint_window=VIP_WINDOW_SECONDS,
        )

    async def remove_vip(self, token: str, broadcaster_id: str, user_id: str) -> None:
        """Unprocessable when the user is not a VIP: treat that as done when expiring."""
        params = {"broadcaster_id": broadcaster_id, "user_id": user_id}
        await self._request(
            "DELETE", "/channels/vips", token, params=params, endpoint_window=VIP_WINDOW_SECONDS
        )

    # Custom rewards (only those created with our client id can be changed)

    async def create_reward(
        self, token: str, broadcaster_id: str, title: str, cost: int, **settings: Any
    ) -> CustomReward:
        """Create a channel-point reward owned by our client id. ``settings`` are Helix's body
        fields (``prompt``, ``is_enabled``, ``should_redemptions_skip_request_queue``, ...)."""
        if not title or len(title) > MAX_REWARD_TITLE:
            raise ValueError(f"a reward title has 1 to {MAX_REWARD_TITLE} characters")
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
            raise ValueError("a reward costs at least 1 point")
        _check_prompt(settings)
        body = {**settings, "title": title, "cost": cost}
        reply = await self._json(
            "POST",
            "/channel_points/custom_rewards",
            token,
            params={"broadcaster_id": broadcaster_id},
            json_body=body,
            is_idempotent=False,
        )
        return _first(parse_items(reply, parse_reward), "the reply has no reward")

    async def update_reward(
        self, token: str, broadcaster_id: str, reward_id: str, **changes: Any
    ) -> CustomReward:
        """Change a reward we created (any create field, and ``is_paused``). Forbidden for a
        reward made elsewhere, NotFound for an unknown one."""
        if "title" in changes and not 1 <= len(str(changes["title"])) <= MAX_REWARD_TITLE:
            raise ValueError(f"a reward title has 1 to {MAX_REWARD_TITLE} characters")
        _check_prompt(changes)
        reply = await self._json(
            "PATCH",
            "/channel_points/custom_rewards",
            token,
            params={"broadcaster_id": broadcaster_id, "id": reward_id},
            json_body=changes,
        )
        return _first(parse_items(reply, parse_reward), "the reply has no reward")

    async def get_rewards(
        self,
        token: str,
        broadcaster_id: str,
        ids: Iterable[str] = (),
        *,
        only_manageable: bool = False,
    ) -> list[CustomReward]:
        """The channel's rewards (or those ``ids``); ``only_manageable``: just ours."""
        base = [("broadcaster_id", broadcaster_id)]
        if only_manageable:
            base.append(("only_manageable_rewards", "true"))
        wanted = _unique(ids)
        if not wanted:
            reply = await self._json("GET", "/channel_points/custom_rewards", token, params=base)
            return parse_items(reply, parse_reward)
        rewards: list[CustomReward] = []
        for chunk in _chunks(wanted, _REWARD_IDS_PER_REQUEST):
            params = base + [("id", reward_id) for reward_id in chunk]
            reply = await self._json("GET", "/channel_points/custom_rewards", token, params=params)
            rewards += parse_items(reply, parse_reward)
        return rewards

    async def delete_reward(self, token: str, broadcaster_id: str, reward_id: str) -> None:
        """Its UNFULFILLED redemptions become FULFILLED."""
        params = {"broadcaster_id": broadcaster_id, "id": reward_id}
        await self._request("DELETE", "/channel_points/custom_rewards", token, params=params)

    # Redemptions

    async def get_redemptions(
        self,
        token: str,
        broadcaster_id: str,
        reward_id: str,
        status: RedemptionStatus = "UNFULFILLED",
    ) -> list[Redemption]:
        """Every redemption of our reward with ``status``, oldest first (every page)."""
        params = [
            ("broadcaster_id", broadcaster_id),
            ("reward_id", reward_id),
            ("status", status),
            ("first", "50"),
        ]
        path = "/channel_points/custom_rewards/redemptions"
        return [r async for r in self._pages(path, token, params, parse_redemption)]

    async def update_redemptions(
        self,
        token: str,
        broadcaster_id: str,
        reward_id: str,
        ids: Iterable[str],
        status: Literal["FULFILLED", "CANCELED"],
    ) -> list[Redemption]:
        """Set UNFULFILLED redemptions to FULFILLED, or CANCELED (which refunds the points).
        NotFound when none of a batch of 50 was UNFULFILLED."""
        if status not in ("FULFILLED", "CANCELED"):
            raise ValueError("a redemption becomes FULFILLED or CANCELED")
        updated: list[Redemption] = []
        for chunk in _chunks(_unique(ids), _REDEMPTION_IDS_PER_REQUEST):
            params = [("broadcaster_id", broadcaster_id), ("reward_id", reward_id)]
            params += [("id", redemption_id) for redemption_id in chunk]
            reply = await self._json(
                "PATCH",
                "/channel_points/custom_rewards/redemptions",
                token,
                params=params,
                json_body={"status": status},
                is_idempotent=False,
            )
            updated += parse_items(reply, parse_redemption)
        return updated

    # Subscriptions

    async def get_subscriptions(
        self, token: str, broadcaster_id: str, user_ids: Iterable[str] | None = None
    ) -> list[BroadcasterSubscription]:
        """The current subscriptions of ``user_ids`` (100 per request; a viewer who is not
        subscribed is absent), or with None every subscriber (every page)."""
        base = [("broadcaster_id", broadcaster_id)]
        if user_ids is None:
            params = [*base, ("first", "100")]
            pages = self._pages("/subscriptions", token, params, parse_subscription)
            return [subscription async for subscription in pages]
        subscriptions: list[BroadcasterSubscription] = []
        for chunk in _chunks(_unique(user_ids), _IDS_PER_REQUEST):
            params = base + [("user_id", user_id) for user_id in chunk]
            reply = await self._json("GET", "/subscriptions", token, params=params)
            subscriptions += parse_items(reply, parse_subscription)
        return subscriptions

    # Chat

    async def send_chat_message(
        self,
        token: str,
        broadcaster_id: str,
        sender_id: str,
        message: str,
        *,
        reply_parent_message_id: str | None = None,
    ) -> ChatMessageResult:
        """Post a chat line as ``sender_id`` (the token's user, or the bot with an app token).
        Check ``is_sent``: Twitch may drop it (AutoMod, chat settings) and still answer 200.
        Retried only when nothing reached Twitch or on 429, so it never posts twice."""
        if not message or len(message) > MAX_CHAT_LENGTH:
            raise ValueError(f"a chat message has 1 to {MAX_CHAT_LENGTH} characters")
        body = {"broadcaster_id": broadcaster_id, "sender_id": sender_id, "message": message}
        if reply_parent_message_id:
            body["reply_parent_message_id"] = reply_parent_message_id
        reply = await self._json(
            "POST", "/chat/messages", token, json_body=body, is_idempotent=False
        )
        return parse_chat_result(reply)

    # EventSub subscriptions

    async def create_eventsub_subscription(
        self,
        token: str,
        type: str,
        version: str,
        condition: Mapping[str, str],
        transport: Mapping[str, str],
    ) -> EventSubSubscription:
        """Webhook and conduit transports need an app token, websocket a user token (else
        BadRequest). Conflict: an identical one exists; RateLimited (at once): 3 already
        exist with this type and condition. List and reconcile rather than creating blindly."""
        body = {
            "type": type,
            "version": version,
            "condition": dict(condition),
            "transport": dict(transport),
        }
        reply = await self._json(
            "POST",
            "/eventsub/subscriptions",
            token,
            json_body=body,
            is_idempotent=False,
            is_429_final=True,
        )
        return _first(parse_items(reply, parse_eventsub), "the reply has no subscription")

    async def list_eventsub_subscriptions(
        self,
        token: str,
        *,
        status: str | None = None,
        type: str | None = None,
        user_id: str | None = None,
        subscription_id: str | None = None,
    ) -> EventSubList:
        """Every page. At most one filter (Helix takes one). An app token lists webhook and
        conduit subscriptions, a user token that user's websocket ones."""
        filters = {
            "status": status,
            "type": type,
            "user_id": user_id,
            "subscription_id": subscription_id,
        }
        base = [(name, value) for name, value in filters.items() if value]
        if len(base) > 1:
            raise ValueError("list EventSub subscriptions with one filter at most")
        subscriptions: list[EventSubSubscription] = []
        totals = (0, 0, 0)
        params, seen = base, set()
        for _ in range(MAX_PAGES):
            reply = await self._json("GET", "/eventsub/subscriptions", token, params=params)
            subscriptions += parse_items(reply, parse_eventsub)
            totals = parse_eventsub_totals(reply)
            cursor = next_cursor(reply)
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
            params = [*base, ("after", cursor)]
        return EventSubList(tuple(subscriptions), *totals)

    async def delete_eventsub_subscription(self, token: str, subscription_id: str) -> None:
        """NotFound when it is already gone."""
        await self._request(
            "DELETE", "/eventsub/subscriptions", token, params={"id": subscription_id}
        )


def _check_prompt(fields: Mapping[str, Any]) -> None:
    prompt = fields.get("prompt")
    if prompt is not None and len(str(prompt)) > MAX_REWARD_PROMPT:
        raise ValueError(f"a reward prompt has at most {MAX_REWARD_PROMPT} characters")


def _first(found: list[Any], problem: str) -> Any:
    if not found:
        raise HelixError(200, problem)
    return found[0]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(text for value in values if (text := str(value).strip())))


def _chunks(values: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


__all__ = [
    "DEFAULT_HELIX_BASE_URL",
    "BadRequest",
    "BroadcasterSubscription",
    "ChatMessageResult",
    "Conflict",
    "CustomReward",
    "EventSubList",
    "EventSubSubscription",
    "Forbidden",
    "HelixClient",
    "HelixError",
    "HelixTransport",
    "HelixUnreachable",
    "NotFound",
    "RateLimit",
    "RateLimited",
    "Redemption",
    "TooEarly",
    "TwitchUser",
    "Unauthorized",
    "Unprocessable",
    "Vip",
]
