"""Kick's public REST API (``/public/v1`` and ``/public/v2``) over one shared ``httpx.AsyncClient``.

Every method takes the bearer token to send, so the caller picks a user or an app token. Replies
are parsed leniently into the frozen dataclasses of :mod:`core.platforms.kick.api_models`, which
this module re-exports.

Retries (``api_transport.py``, which also holds the transport): 429 is always retried (after
``Retry-After`` seconds when Kick sends one, else exponential backoff with full jitter), and so is
a failure to connect, since nothing reached Kick. A 5xx, a timeout or a dropped connection is
retried only for requests that are safe to repeat (GET, DELETE, a ban): sending a chat message,
creating subscriptions or accepting redemptions again after Kick may already have done it would
post twice or fail confusingly, so those raise at once. No exception message ever contains the
token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from core.platforms.kick.api_errors import (
    MESSAGE_MAX,
    Forbidden,
    KickApiError,
    KickUnreachable,
    NotFound,
    RateLimited,
    Unauthorized,
    kicks_words,
)
from core.platforms.kick.api_models import (
    FailedRedemption,
    KickCategory,
    KickChannel,
    KickUser,
    Livestream,
    Redemption,
    RedemptionUpdate,
    Reward,
    Subscription,
    SubscriptionResult,
    next_cursor,
    page_items,
    parse_channel,
    parse_list,
    parse_livestream,
    parse_public_key,
    parse_redemption_group,
    parse_redemption_update,
    parse_reward,
    parse_subscription,
    parse_subscription_result,
    parse_user,
    reply_data,
)
from core.platforms.kick.api_transport import KickTransport
from core.platforms.lenient import as_id as _id
from core.platforms.lenient import as_list as _list
from core.platforms.lenient import as_mapping as _mapping
from core.platforms.lenient import as_text as _text

MAX_CHAT_LENGTH = 500
MAX_SLUG_LENGTH = 25
MAX_BAN_MINUTES = 10_080
MAX_BAN_REASON_LENGTH = 100
_IDS_PER_REQUEST = 50
_REDEMPTION_IDS_PER_REQUEST = 25
_MAX_PAGES = 50
MAX_PUBLIC_KEY_REPLY_BYTES = 16 * 1024  # Kick's key (RSA-2048, PEM) in its envelope: ~500 bytes


class KickApi(KickTransport):
    """Kick's endpoints; the client's options (retries, backoff, ``http``) are
    :class:`~core.platforms.kick.api_transport.KickTransport`'s."""

    # Users and channels

    async def get_users(self, token: str, ids: Iterable[str | int] = ()) -> list[KickUser]:
        """The users with these ids; with no ids, the token's owner."""
        wanted = _unique_ids(ids)
        if not wanted:
            return parse_list(await self._get(token, "/public/v1/users"), parse_user)
        users: list[KickUser] = []
        for chunk in _chunks(wanted, _IDS_PER_REQUEST):
            data = await self._get(token, "/public/v1/users", params={"id": chunk})
            users.extend(parse_list(data, parse_user))
        return users

    async def get_channel_by_slug(self, token: str, slug: str) -> KickChannel | None:
        """One slug per request: one unknown slug can fail a whole batch. None when unknown."""
        slug = slug.strip()
        if not slug:
            raise ValueError("a channel slug is required (no slug means the token's owner)")
        if len(slug) > MAX_SLUG_LENGTH:
            return None
        try:
            data = await self._get(token, "/public/v1/channels", params={"slug": slug})
        except NotFound:
            return None
        channels = parse_list(data, parse_channel)
        exact = [c for c in channels if c.slug.lower() == slug.lower()]
        if exact:
            return exact[0]
        return channels[0] if channels else None

    async def get_channels_by_broadcaster(
        self, token: str, ids: Iterable[str | int]
    ) -> list[KickChannel]:
        channels: list[KickChannel] = []
        for chunk in _chunks(_unique_ids(ids), _IDS_PER_REQUEST):
            data = await self._get(
                token, "/public/v1/channels", params={"broadcaster_user_id": chunk}
            )
            channels.extend(parse_list(data, parse_channel))
        return channels

    async def get_livestreams(
        self, token: str, broadcaster_user_ids: Iterable[str | int]
    ) -> list[Livestream]:
        """The live streams among these broadcasters (``/public/v2/livestreams``, every page).
        No ids means no request: without a filter Kick would list the whole platform."""
        streams: list[Livestream] = []
        for chunk in _chunks(_unique_ids(broadcaster_user_ids), _IDS_PER_REQUEST):
            params: dict[str, Any] = {"broadcaster_user_id": chunk, "limit": 100}
            for _ in range(_MAX_PAGES):
                body = await self._body("GET", "/public/v2/livestreams", token, params=params)
                streams.extend(parse_list(page_items(body), parse_livestream))
                cursor = next_cursor(body)
                if not cursor:
                    break
                params = {**params, "cursor": cursor}
        return streams

    # Chat

    async def send_chat(
        self,
        token: str,
        content: str,
        *,
        type: Literal["bot", "user"],
        broadcaster_user_id: str | int | None = None,
        reply_to_message_id: str | None = None,
    ) -> str:
        """Post a chat message and return its id.

        ``type="bot"`` posts as the app's bot into the token owner's channel; ``type="user"``
        posts as the token's owner into ``broadcaster_user_id``'s chat. Retried only on 429 and
        when the connection could not be made, so a message is never posted twice. A success
        whose reply does not name the message posted (not JSON, no id) is
        :class:`KickUnreachable`, not sent: Kick may have posted it.
        """
        if not content or len(content) > MAX_CHAT_LENGTH:
            raise ValueError(f"chat content must be 1 to {MAX_CHAT_LENGTH} characters")
        if type not in ("bot", "user"):
            raise ValueError("chat type must be 'bot' or 'user'")
        body: dict[str, Any] = {"type": type, "content": content}
        if broadcaster_user_id is not None:
            body["broadcaster_user_id"] = _wire_id(broadcaster_user_id)
        elif type == "user":
            raise ValueError("type='user' needs the broadcaster_user_id of the chat to post in")
        if reply_to_message_id:
            body["reply_to_message_id"] = reply_to_message_id
        try:
            reply = await self._body(
                "POST", "/public/v1/chat", token, json_body=body, is_idempotent=False
            )
        except KickApiError as exc:
            if exc.status is not None and 200 <= exc.status < 300:  # a reply not JSON
                raise _maybe_posted(exc.status) from None
            raise
        data = _mapping(reply_data(reply))
        message_id = _id(data.get("message_id"))
        if data.get("is_sent") is False:
            said = _text(_mapping(reply).get("message")) or "message not sent"
            raise KickApiError(200, kicks_words(said, token))
        if message_id is None:
            raise _maybe_posted(200)
        return message_id

    # Event subscriptions

    async def create_subscriptions(
        self, token: str, broadcaster_user_id: str | int | None, events: Sequence[str]
    ) -> list[SubscriptionResult]:
        """Subscribe to ``events`` (version 1, by webhook). ``broadcaster_user_id`` is required
        with an app token; Kick ignores it with a user token and uses the owner."""
        if not events:
            return []
        body: dict[str, Any] = {
            "events": [{"name": name, "version": 1} for name in events],
            "method": "webhook",
        }
        if broadcaster_user_id is not None:
            body["broadcaster_user_id"] = _wire_id(broadcaster_user_id)
        reply = await self._body(
            "POST", "/public/v1/events/subscriptions", token, json_body=body, is_idempotent=False
        )
        return parse_list(reply_data(reply), parse_subscription_result)

    async def list_subscriptions(
        self, token: str, broadcaster_user_id: str | int | None = None
    ) -> list[Subscription]:
        params: dict[str, Any] = {}
        if broadcaster_user_id is not None:
            params["broadcaster_user_id"] = broadcaster_user_id
        data = await self._get(token, "/public/v1/events/subscriptions", params=params)
        return parse_list(data, parse_subscription)

    async def delete_subscriptions(self, token: str, ids: Iterable[str]) -> None:
        for chunk in _chunks(_unique_ids(ids), _IDS_PER_REQUEST):
            await self._request(
                "DELETE", "/public/v1/events/subscriptions", token, params={"id": chunk}
            )

    # Channel rewards

    async def list_rewards(self, token: str) -> list[Reward]:
        return parse_list(await self._get(token, "/public/v1/channels/rewards"), parse_reward)

    async def list_redemptions(
        self,
        token: str,
        reward_id: str | None = None,
        status: Literal["pending", "accepted", "rejected"] | None = None,
    ) -> list[Redemption]:
        """Every page of redemptions, flattened out of Kick's per-reward groups."""
        params: dict[str, Any] = {}
        if reward_id:
            params["reward_id"] = reward_id
        if status:
            params["status"] = status
        redemptions: list[Redemption] = []
        for _ in range(_MAX_PAGES):
            body = await self._body(
                "GET", "/public/v1/channels/rewards/redemptions", token, params=params
            )
            for group in _list(page_items(body)):
                redemptions.extend(parse_redemption_group(group))
            cursor = next_cursor(body)
            if not cursor:
                break
            params = {**params, "cursor": cursor}
        return redemptions

    async def accept_redemptions(self, token: str, ids: Iterable[str]) -> RedemptionUpdate:
        return await self._decide_redemptions(token, "accept", ids)

    async def reject_redemptions(self, token: str, ids: Iterable[str]) -> RedemptionUpdate:
        return await self._decide_redemptions(token, "reject", ids)

    async def _decide_redemptions(
        self, token: str, decision: str, ids: Iterable[str]
    ) -> RedemptionUpdate:
        updated: list[str] = []
        failed: list[FailedRedemption] = []
        for chunk in _chunks(_unique_ids(ids), _REDEMPTION_IDS_PER_REQUEST):
            reply = await self._body(
                "POST",
                f"/public/v1/channels/rewards/redemptions/{decision}",
                token,
                json_body={"ids": chunk},
                is_idempotent=False,
            )
            update = parse_redemption_update(reply)
            updated.extend(update.updated_ids)
            failed.extend(update.failed)
        return RedemptionUpdate(tuple(updated), tuple(failed))

    # Moderation

    async def ban(
        self,
        token: str,
        broadcaster_user_id: str | int,
        user_id: str | int,
        duration_minutes: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Ban ``user_id`` for good, or time them out for ``duration_minutes`` (1 to 10080)."""
        body: dict[str, Any] = {
            "broadcaster_user_id": _wire_id(broadcaster_user_id),
            "user_id": _wire_id(user_id),
        }
        if duration_minutes is not None:
            if not 1 <= duration_minutes <= MAX_BAN_MINUTES:
                raise ValueError(f"a timeout lasts 1 to {MAX_BAN_MINUTES} minutes")
            body["duration"] = duration_minutes
        if reason:
            body["reason"] = reason[:MAX_BAN_REASON_LENGTH]
        await self._request("POST", "/public/v1/moderation/bans", token, json_body=body)

    async def unban(self, token: str, broadcaster_user_id: str | int, user_id: str | int) -> None:
        """Lift a ban or a timeout (``DELETE`` with a JSON body, as Kick wants)."""
        body = {"broadcaster_user_id": _wire_id(broadcaster_user_id), "user_id": _wire_id(user_id)}
        await self._request("DELETE", "/public/v1/moderation/bans", token, json_body=body)

    async def get_public_key(self) -> str:
        """Kick's webhook public key as PEM text (no token needed). A reply over
        :data:`MAX_PUBLIC_KEY_REPLY_BYTES` is :class:`KickApiError`, read no further."""
        reply = await self._body(
            "GET", "/public/v1/public-key", None, max_body_bytes=MAX_PUBLIC_KEY_REPLY_BYTES
        )
        key = parse_public_key(reply, MAX_PUBLIC_KEY_REPLY_BYTES)
        if not key:
            raise KickApiError(200, "the reply has no public_key")
        return key


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _unique_ids(ids: Iterable[str | int]) -> list[str]:
    return list(dict.fromkeys(i for value in ids if (i := _id(value))))


def _wire_id(value: str | int) -> int | str:
    """Kick's JSON bodies want numeric user ids as numbers."""
    text = str(value).strip()
    return int(text) if text.isdecimal() else text


def _maybe_posted(status: int) -> KickUnreachable:
    """A chat post Kick answered with ``status`` (a success) without naming the message: it may
    be in the chat, so neither sent again nor another way."""
    problem = f"POST /public/v1/chat answered {status} without the message it posted"
    return KickUnreachable(None, problem, is_unsent=False)


__all__ = [
    "MESSAGE_MAX",
    "FailedRedemption",
    "Forbidden",
    "KickApi",
    "KickApiError",
    "KickCategory",
    "KickChannel",
    "KickUnreachable",
    "KickUser",
    "Livestream",
    "NotFound",
    "RateLimited",
    "Redemption",
    "RedemptionUpdate",
    "Reward",
    "Subscription",
    "SubscriptionResult",
    "Unauthorized",
]
