"""The Helix half of :class:`tests.fakes.twitch_server.FakeTwitch`: users, VIPs, broadcaster
subscriptions and chat messages here, custom rewards and redemptions in
``twitch_helix_rewards.py``, EventSub subscriptions in ``twitch_helix_eventsub.py`` (the shapes
they share in ``twitch_helix_shapes.py``), with the refusals of ``platforms/twitch.md`` §5 in
Helix's error envelope.

Choices where Twitch does not say: the order of the Add VIP checks is moderator, already VIP,
blocked, achievement, slots; the VIP window counts additions and removals separately per
broadcaster; cursors are base64 offsets.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.twitch_helix_eventsub import HelixEventSub
from tests.fakes.twitch_helix_rewards import HelixRewards
from tests.fakes.twitch_helix_shapes import (
    FIXTURES,
    OTHER_CLIENT_ID,
    FakeChannel,
    Reply,
    SentChatMessage,
    first_param,
    fixture,
    helix_error,
    json_object,
    page_of,
    without_email,
)

if TYPE_CHECKING:
    from tests.fakes.twitch_server import IssuedToken

VIP_WINDOW = timedelta(seconds=10)
VIP_CHANGES_PER_WINDOW = 10


class HelixRoutes(HelixRewards, HelixEventSub):
    """State and handlers; :class:`FakeTwitch` adds the server, tokens and OAuth."""

    _lock: threading.RLock
    clock: Callable[[], datetime]
    client_id: str
    page_size: int
    tokens: dict[str, IssuedToken]

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.rewards: dict[str, dict[str, Any]] = {}  # id -> reward JSON + "_client_id"
        self.redemptions: dict[str, dict[str, Any]] = {}
        self.chat_messages: list[SentChatMessage] = []
        self.eventsub: dict[str, dict[str, Any]] = {}
        self.max_total_cost = 10_000
        self.page_size = 100
        self._drops: list[dict[str, str]] = []

    def _bearer(self, request: web.Request) -> IssuedToken | None:
        raise NotImplementedError

    def helix_routes(self, prefix: str) -> list[web.RouteDef]:
        rewards = f"{prefix}/channel_points/custom_rewards"
        return [
            web.get(f"{prefix}/users", self._get_users),
            web.get(f"{prefix}/channels/vips", self._get_vips),
            web.post(f"{prefix}/channels/vips", self._add_vip),
            web.delete(f"{prefix}/channels/vips", self._remove_vip),
            web.post(rewards, self._create_reward),
            web.get(rewards, self._get_rewards),
            web.patch(rewards, self._update_reward),
            web.delete(rewards, self._delete_reward),
            web.get(f"{rewards}/redemptions", self._get_redemptions),
            web.patch(f"{rewards}/redemptions", self._update_redemptions),
            web.get(f"{prefix}/subscriptions", self._get_subscriptions),
            web.post(f"{prefix}/chat/messages", self._send_chat),
            web.post(f"{prefix}/eventsub/subscriptions", self._create_eventsub),
            web.get(f"{prefix}/eventsub/subscriptions", self._list_eventsub),
            web.delete(f"{prefix}/eventsub/subscriptions", self._delete_eventsub),
        ]

    def add_user(self, user_id: str, login: str, **fields: Any) -> dict[str, Any]:
        """A user shaped like ``helix/get_users.json`` with this id and login."""
        with self._lock:
            user = {
                **fixture("helix/get_users.json")["data"][0],
                "id": user_id,
                "login": login,
                "display_name": login.capitalize(),
                "broadcaster_type": "",
                "description": "",
                **fields,
            }
            self.users[user_id] = user
            return user

    def add_channel(self, broadcaster_id: str, login: str, **settings: Any) -> FakeChannel:
        with self._lock:
            if broadcaster_id not in self.users:
                self.add_user(broadcaster_id, login)
            channel = FakeChannel(broadcaster_id, **settings)
            self.channels[broadcaster_id] = channel
            self.users[broadcaster_id]["broadcaster_type"] = channel.broadcaster_type
            return channel

    def add_subscriber(
        self, broadcaster_id: str, user_id: str, tier: str = "1000", *, is_gift: bool = False
    ) -> None:
        """A subscription shaped like ``helix/get_broadcaster_subscriptions.json``."""
        with self._lock:
            user = self.users.get(user_id) or self.add_user(user_id, f"viewer{user_id}")
            broadcaster = self.users[broadcaster_id]
            template = fixture("helix/get_broadcaster_subscriptions.json")["data"][0]
            values = {
                "broadcaster_id": broadcaster_id,
                "broadcaster_login": broadcaster["login"],
                "broadcaster_name": broadcaster["display_name"],
                "gifter_id": "12826" if is_gift else "",
                "gifter_login": "twitch" if is_gift else "",
                "gifter_name": "Twitch" if is_gift else "",
                "is_gift": is_gift,
                "tier": tier,
                "plan_name": f"Channel Subscription ({broadcaster['login']})",
                "user_id": user_id,
                "user_name": user["display_name"],
                "user_login": user["login"],
            }
            self.channels[broadcaster_id].subscribers[user_id] = {k: values[k] for k in template}

    def drop_next_chat_message(self, code: str, message: str) -> None:
        """The next chat message answers 200 with ``is_sent: false`` and this drop reason."""
        with self._lock:
            self._drops.append({"code": code, "message": message})

    def _caller(
        self,
        request: web.Request,
        *,
        scopes: tuple[str, ...] = (),
        allow_app: bool = True,
        allow_user: bool = True,
    ) -> IssuedToken:
        """The live token of the request, sent with its own client id, allowed here, holding one
        of ``scopes``; Helix answers 401 for every one of these problems."""
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            raise helix_error(401, "OAuth token is missing")
        issued = self._bearer(request)
        if issued is None:
            raise helix_error(401, "Invalid OAuth token")
        if request.headers.get("Client-Id") != issued.client_id:
            raise helix_error(401, "Client ID and OAuth token do not match")
        if issued.token_type == "app" and not allow_app:
            raise helix_error(401, "This endpoint requires a user access token")
        if issued.token_type == "user" and not allow_user:
            raise helix_error(401, "This endpoint requires an app access token")
        if issued.token_type == "user" and scopes and not set(scopes) & set(issued.scopes):
            raise helix_error(401, f"Missing scope: {' or '.join(scopes)}")
        return issued

    def _own_channel(self, request: web.Request, caller: IssuedToken) -> FakeChannel:
        broadcaster_id = request.query.get("broadcaster_id")
        if not broadcaster_id:
            raise helix_error(400, 'Missing required parameter "broadcaster_id"')
        if broadcaster_id != caller.user_id:
            raise helix_error(
                403, "The ID in broadcaster_id must match the user ID in the OAuth token"
            )
        channel = self.channels.get(broadcaster_id)
        if channel is None:
            raise helix_error(404, "The broadcaster was not found")
        return channel

    def _vip_window(self, channel: FakeChannel, kind: str) -> None:
        now = self.clock()
        channel.vip_changes = [(k, t) for k, t in channel.vip_changes if now - t < VIP_WINDOW]
        if sum(1 for k, _ in channel.vip_changes if k == kind) >= VIP_CHANGES_PER_WINDOW:
            raise helix_error(429, f"The broadcaster exceeded the number of VIP {kind}s per 10 s")
        channel.vip_changes.append((kind, now))

    async def _get_users(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request)
            ids = request.query.getall("id", [])
            logins = request.query.getall("login", [])
            if len(ids) + len(logins) > 100:
                raise helix_error(400, "The combined number of ids and logins is over 100")
            if not ids and not logins:
                if caller.user_id is None:
                    raise helix_error(400, "Must provide an ID, Login or OAuth Token")
                ids = [caller.user_id]
            found = [u for u in self.users.values() if u["id"] in ids or u["login"] in logins]
            return web.json_response({"data": [without_email(u, caller) for u in found]})

    async def _get_vips(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request, scopes=("channel:read:vips", "channel:manage:vips"), allow_app=False
            )
            channel = self._own_channel(request, caller)
            wanted = request.query.getall("user_id", [])
            if len(wanted) > 100:
                raise helix_error(400, "The number of user_id parameters is over 100")
            first = first_param(request, default=20, high=100)
            vips = [v for v in channel.vips if not wanted or v in wanted]
            page, cursor = page_of(vips, request.query.get("after"), min(first, self.page_size))
            template = fixture("helix/get_vips.json")["data"][0]
            data = [
                {
                    key: {
                        "user_id": v,
                        "user_name": self.users[v]["display_name"],
                        "user_login": self.users[v]["login"],
                    }[key]
                    for key in template
                }
                for v in page
            ]
            return web.json_response(
                {"data": data, "pagination": {"cursor": cursor} if cursor else {}}
            )

    async def _add_vip(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:vips",), allow_app=False)
            channel = self._own_channel(request, caller)
            user_id = request.query.get("user_id", "")
            if user_id not in self.users:
                raise helix_error(404, "The user in user_id was not found")
            self._vip_window(channel, "addition")
            if user_id in channel.moderators:
                raise Reply(422, fixture("helix/error_422_add_vip_moderator.constructed.json"))
            if user_id in channel.vips:
                raise helix_error(422, "The user in user_id is already a VIP")
            if user_id in channel.blocked:
                raise helix_error(400, "The user in user_id is blocked from the channel")
            if not channel.has_build_a_community:
                raise helix_error(
                    425, "The broadcaster must complete the Build a Community requirement"
                )
            if len(channel.vips) >= channel.vip_slots:
                raise helix_error(409, "The broadcaster doesn't have available VIP slots")
            channel.vips.append(user_id)
            return web.Response(status=204)

    async def _remove_vip(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:vips",), allow_app=False)
            channel = self._own_channel(request, caller)
            user_id = request.query.get("user_id", "")
            if user_id not in self.users:
                raise helix_error(404, "The user in user_id was not found")
            self._vip_window(channel, "removal")
            if user_id not in channel.vips:
                raise helix_error(422, "The user in user_id is not a VIP in the channel")
            channel.vips.remove(user_id)
            return web.Response(status=204)

    async def _get_subscriptions(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("channel:read:subscriptions",), allow_app=False)
            channel = self._own_channel(request, caller)
            wanted = request.query.getall("user_id", [])
            if len(wanted) > 100:
                raise helix_error(400, "The number of user_id parameters is over 100")
            subs = [s for uid, s in channel.subscribers.items() if not wanted or uid in wanted]
            cursor = None
            if not wanted:
                first = first_param(request, default=20, high=100)
                subs, cursor = page_of(subs, request.query.get("after"), min(first, self.page_size))
            total = len(channel.subscribers)
            return web.json_response(
                {
                    "data": subs,
                    "pagination": {"cursor": cursor} if cursor else {},
                    "total": total,
                    "points": total,
                }
            )

    async def _send_chat(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("user:write:chat",))
            broadcaster_id, sender_id = body.get("broadcaster_id"), body.get("sender_id")
            message = body.get("message")
            if not isinstance(broadcaster_id, str) or not isinstance(sender_id, str):
                raise helix_error(400, "broadcaster_id and sender_id are required")
            if broadcaster_id not in self.channels:
                raise helix_error(404, "The broadcaster was not found")
            if caller.token_type == "user" and sender_id != caller.user_id:
                raise helix_error(403, "The sender may not send messages in this chat")
            if not isinstance(message, str) or not message:
                raise helix_error(400, "The message is required")
            if len(message) > 500:
                raise helix_error(422, "The message is too large")
            reply = {**fixture("helix/send_chat_message.json")["data"][0]}
            reply["message_id"] = str(uuid.uuid4())
            if self._drops:
                reply.update(is_sent=False, message_id="", drop_reason=self._drops.pop(0))
                return web.json_response({"data": [reply]})
            parent = body.get("reply_parent_message_id")
            self.chat_messages.append(
                SentChatMessage(
                    reply["message_id"],
                    broadcaster_id,
                    sender_id,
                    message,
                    parent if isinstance(parent, str) else None,
                )
            )
            return web.json_response({"data": [reply]})


__all__ = [
    "FIXTURES",
    "OTHER_CLIENT_ID",
    "FakeChannel",
    "HelixRoutes",
    "Reply",
    "SentChatMessage",
    "fixture",
    "helix_error",
]
