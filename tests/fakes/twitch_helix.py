"""The Helix half of :class:`tests.fakes.twitch_server.FakeTwitch`: users, VIPs, custom rewards
and redemptions, broadcaster subscriptions, chat messages and EventSub subscriptions, with the
refusals of ``platforms/twitch.md`` §5 in Helix's error envelope.

Choices where Twitch does not say: the order of the Add VIP checks is moderator, already VIP,
blocked, achievement, slots; the VIP window counts additions and removals separately per
broadcaster; a reward's JSON follows the Helix reference (no fixture holds one); EventSub
``409`` is an identical type, version, condition and transport, ``429`` a fourth one with the
same type and condition; cursors are base64 offsets. Follow, raid and cheer subscriptions are
checked as Twitch's subscription types page has them (follow only as version 2 with a moderator,
a raid by one of its two broadcasters, follows and cheers only once the user named granted the
scope, else ``403``); a raid lists its unset broadcaster as ``""``.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.twitch_server import IssuedToken

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twitch"
OTHER_CLIENT_ID = "twitch-dashboard-client-id"  # the client id of rewards made on twitch.tv
MAX_REWARDS = 50
VIP_WINDOW = timedelta(seconds=10)
VIP_CHANGES_PER_WINDOW = 10
MAX_SAME_TYPE_AND_CONDITION = 3
# type -> (version, the condition's fields, the field naming whose grant needs which scope)
CHECKED_TYPES: dict[str, tuple[str, frozenset[str], tuple[str, str] | None]] = {
    "channel.follow": (
        "2",
        frozenset({"broadcaster_user_id", "moderator_user_id"}),
        ("moderator_user_id", "moderator:read:followers"),
    ),
    "channel.raid": ("1", frozenset({"from_broadcaster_user_id", "to_broadcaster_user_id"}), None),
    "channel.cheer": (
        "1",
        frozenset({"broadcaster_user_id"}),
        ("broadcaster_user_id", "bits:read"),
    ),
}


@cache
def fixture(name: str) -> Any:
    """A fixture by its path under tests/fixtures/twitch, e.g. ``helix/get_users.json``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Reply(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def helix_error(status: int, message: str) -> Reply:
    return Reply(status, {"error": HTTPStatus(status).phrase, "status": status, "message": message})


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeChannel:
    broadcaster_id: str
    vips: list[str] = field(default_factory=list)
    moderators: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    vip_slots: int = 10
    has_build_a_community: bool = True
    broadcaster_type: str = "affiliate"  # "", "affiliate" or "partner"
    subscribers: dict[str, dict[str, Any]] = field(default_factory=dict)
    vip_changes: list[tuple[str, datetime]] = field(default_factory=list)  # (kind, when)


@dataclass
class SentChatMessage:
    message_id: str
    broadcaster_id: str
    sender_id: str
    message: str
    reply_parent_message_id: str | None = None


class HelixRoutes:
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

    # Seeding

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

    def add_reward(
        self, broadcaster_id: str, title: str, cost: int, *, client_id: str = OTHER_CLIENT_ID
    ) -> str:
        """A reward made elsewhere (default: on twitch.tv), which our client may not change."""
        with self._lock:
            return self._new_reward(broadcaster_id, {"title": title, "cost": cost}, client_id)["id"]

    def add_redemption(self, reward_id: str, user_id: str, *, user_input: str = "") -> str:
        with self._lock:
            reward = self.rewards[reward_id]
            user = self.users.get(user_id) or self.add_user(user_id, f"viewer{user_id}")
            redemption_id = str(uuid.uuid4())
            self.redemptions[redemption_id] = {
                "broadcaster_id": reward["broadcaster_id"],
                "broadcaster_login": reward["broadcaster_login"],
                "broadcaster_name": reward["broadcaster_name"],
                "id": redemption_id,
                "user_id": user_id,
                "user_login": user["login"],
                "user_name": user["display_name"],
                "user_input": user_input,
                "status": "UNFULFILLED",
                "redeemed_at": _rfc3339(self.clock()),
                "reward": {k: reward[k] for k in ("id", "title", "prompt", "cost")},
            }
            return redemption_id

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

    # Checks

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

    # Users

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
            return web.json_response({"data": [_without_email(u, caller) for u in found]})

    # VIPs

    async def _get_vips(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request, scopes=("channel:read:vips", "channel:manage:vips"), allow_app=False
            )
            channel = self._own_channel(request, caller)
            wanted = request.query.getall("user_id", [])
            if len(wanted) > 100:
                raise helix_error(400, "The number of user_id parameters is over 100")
            first = _first_param(request, default=20, high=100)
            vips = [v for v in channel.vips if not wanted or v in wanted]
            page, cursor = _page(vips, request.query.get("after"), min(first, self.page_size))
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

    # Custom rewards

    def _new_reward(
        self, broadcaster_id: str, fields: dict[str, Any], client_id: str
    ) -> dict[str, Any]:
        broadcaster = self.users[broadcaster_id]
        title, cost = fields.get("title"), fields.get("cost")
        if not isinstance(title, str) or not 1 <= len(title) <= 45:
            raise helix_error(400, "The title must be 1 to 45 characters")
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
            raise helix_error(400, "The cost must be at least 1")
        mine = [r for r in self.rewards.values() if r["broadcaster_id"] == broadcaster_id]
        if len(mine) >= MAX_REWARDS:
            raise helix_error(400, "CREATE_CUSTOM_REWARD_TOO_MANY_REWARDS")
        if any(r["title"] == title for r in mine):
            raise helix_error(400, "CREATE_CUSTOM_REWARD_DUPLICATE_REWARD")
        reward = {
            "broadcaster_id": broadcaster_id,
            "broadcaster_login": broadcaster["login"],
            "broadcaster_name": broadcaster["display_name"],
            "id": str(uuid.uuid4()),
            "title": title,
            "prompt": "",
            "cost": cost,
            "image": None,
            "default_image": {},
            "background_color": "#9147FF",
            "is_enabled": True,
            "is_user_input_required": False,
            "max_per_stream_setting": {"is_enabled": False, "max_per_stream": 0},
            "max_per_user_per_stream_setting": {"is_enabled": False, "max_per_user_per_stream": 0},
            "global_cooldown_setting": {"is_enabled": False, "global_cooldown_seconds": 0},
            "is_paused": False,
            "is_in_stock": True,
            "should_redemptions_skip_request_queue": False,
            "redemptions_redeemed_current_stream": None,
            "cooldown_expires_at": None,
            "_client_id": client_id,
        }
        _apply_reward_fields(reward, fields)
        _check_reward(reward)
        self.rewards[reward["id"]] = reward
        return reward

    def _owned_reward(self, request: web.Request, caller: IssuedToken, reward_id: str) -> dict:
        reward = self.rewards.get(reward_id)
        if reward is None or reward["broadcaster_id"] != caller.user_id:
            raise helix_error(404, "The custom reward was not found")
        if reward["_client_id"] != request.headers.get("Client-Id"):
            raise helix_error(
                403,
                "The ID in the Client-Id header must match the client ID used to create the"
                " custom reward",
            )
        return reward

    def _partner_channel(self, request: web.Request, caller: IssuedToken) -> FakeChannel:
        channel = self._own_channel(request, caller)
        if channel.broadcaster_type not in ("affiliate", "partner"):
            raise helix_error(403, "The broadcaster is not a partner or affiliate")
        return channel

    async def _create_reward(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:redemptions",), allow_app=False)
            channel = self._partner_channel(request, caller)
            reward = self._new_reward(channel.broadcaster_id, body, caller.client_id)
            return web.json_response({"data": [_public(reward)]})

    async def _get_rewards(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request,
                scopes=("channel:read:redemptions", "channel:manage:redemptions"),
                allow_app=False,
            )
            channel = self._partner_channel(request, caller)
            ids = request.query.getall("id", [])
            if len(ids) > 50:
                raise helix_error(400, "The number of id parameters is over 50")
            only_ours = request.query.get("only_manageable_rewards") == "true"
            found = [
                r
                for r in self.rewards.values()
                if r["broadcaster_id"] == channel.broadcaster_id
                and (not ids or r["id"] in ids)
                and (not only_ours or r["_client_id"] == caller.client_id)
            ]
            if ids and not found:
                raise helix_error(404, "The custom reward was not found")
            return web.json_response({"data": [_public(r) for r in found]})

    async def _update_reward(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:redemptions",), allow_app=False)
            self._partner_channel(request, caller)
            reward = self._owned_reward(request, caller, request.query.get("id", ""))
            title = body.get("title", reward["title"])
            if not isinstance(title, str) or not 1 <= len(title) <= 45:
                raise helix_error(400, "The title must be 1 to 45 characters")
            changed = copy.deepcopy(reward)
            _apply_reward_fields(changed, body)
            _check_reward(changed)  # all or nothing, as Helix
            reward.update(changed)
            return web.json_response({"data": [_public(reward)]})

    async def _delete_reward(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:redemptions",), allow_app=False)
            self._partner_channel(request, caller)
            reward = self._owned_reward(request, caller, request.query.get("id", ""))
            del self.rewards[reward["id"]]
            for redemption in self.redemptions.values():
                is_pending = redemption["status"] == "UNFULFILLED"
                if redemption["reward"]["id"] == reward["id"] and is_pending:
                    redemption["status"] = "FULFILLED"
            return web.Response(status=204)

    # Redemptions

    async def _get_redemptions(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request,
                scopes=("channel:read:redemptions", "channel:manage:redemptions"),
                allow_app=False,
            )
            self._partner_channel(request, caller)
            reward = self._owned_reward(request, caller, request.query.get("reward_id", ""))
            ids = request.query.getall("id", [])
            status = request.query.get("status")
            if not ids and status not in ("UNFULFILLED", "FULFILLED", "CANCELED"):
                raise helix_error(400, "The status parameter is required")
            first = _first_param(request, default=20, high=50)
            found = [
                r
                for r in self.redemptions.values()
                if r["reward"]["id"] == reward["id"]
                and (not ids or r["id"] in ids)
                and (status is None or r["status"] == status)
            ]
            page, cursor = _page(found, request.query.get("after"), min(first, self.page_size))
            return web.json_response(
                {"data": page, "pagination": {"cursor": cursor} if cursor else {}}
            )

    async def _update_redemptions(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:redemptions",), allow_app=False)
            self._partner_channel(request, caller)
            reward = self._owned_reward(request, caller, request.query.get("reward_id", ""))
            ids = request.query.getall("id", [])
            if not 1 <= len(ids) <= 50:
                raise helix_error(400, "Between 1 and 50 id parameters are required")
            status = body.get("status")
            if status not in ("FULFILLED", "CANCELED"):
                raise helix_error(400, "The status must be FULFILLED or CANCELED")
            changed = [
                r
                for r in self.redemptions.values()
                if r["id"] in ids and r["reward"]["id"] == reward["id"]
                if r["status"] == "UNFULFILLED"
            ]
            if not changed:
                raise helix_error(404, "No UNFULFILLED redemption with these ids was found")
            for redemption in changed:
                redemption["status"] = status
            return web.json_response({"data": changed})

    # Subscriptions

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
                first = _first_param(request, default=20, high=100)
                subs, cursor = _page(subs, request.query.get("after"), min(first, self.page_size))
            total = len(channel.subscribers)
            return web.json_response(
                {
                    "data": subs,
                    "pagination": {"cursor": cursor} if cursor else {},
                    "total": total,
                    "points": total,
                }
            )

    # Chat

    async def _send_chat(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
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

    # EventSub subscriptions

    async def _create_eventsub(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request)
            kind, version = body.get("type"), body.get("version")
            condition, transport = body.get("condition"), body.get("transport")
            if not isinstance(kind, str) or not isinstance(version, str):
                raise helix_error(400, "type and version are required")
            if not isinstance(condition, dict) or not isinstance(transport, dict):
                raise helix_error(400, "condition and transport are required")
            method = transport.get("method")
            wants_app = method in ("webhook", "conduit")
            if method not in ("webhook", "conduit", "websocket") or wants_app != (
                caller.token_type == "app"
            ):
                raise Reply(400, fixture("helix/error_400_eventsub_wrong_token.json"))
            if method == "webhook":
                callback, secret = transport.get("callback"), transport.get("secret")
                if not isinstance(callback, str) or not callback.startswith("https://"):
                    raise helix_error(400, "The callback must use HTTPS on port 443")
                if not isinstance(secret, str) or not 10 <= len(secret) <= 100:
                    raise helix_error(400, "The secret must be 10 to 100 characters")
            condition = self._checked_condition(kind, version, condition)
            public_transport = {k: v for k, v in transport.items() if k != "secret"}
            same = [
                s
                for s in self.eventsub.values()
                if s["type"] == kind and s["condition"] == condition
            ]
            if any(s["version"] == version and s["transport"] == public_transport for s in same):
                raise helix_error(409, "subscription already exists")
            if len(same) >= MAX_SAME_TYPE_AND_CONDITION:
                raise Reply(429, fixture("helix/error_429_eventsub_duplicate_limit.json"))
            subscription = {
                "id": str(uuid.uuid4()),
                "status": "enabled"
                if method == "websocket"
                else "webhook_callback_verification_pending",
                "type": kind,
                "version": version,
                "condition": condition,
                "created_at": _rfc3339(self.clock()),
                "transport": public_transport,
                "cost": 0,
                "_owner": caller.user_id if method == "websocket" else None,
            }
            self.eventsub[subscription["id"]] = subscription
            return web.json_response(
                {"data": [_public(subscription)], **self._eventsub_totals()}, status=202
            )

    def _checked_condition(
        self, kind: str, version: str, condition: dict[str, Any]
    ) -> dict[str, Any]:
        """The condition as Twitch keeps it; raises Twitch's 400 or 403 for the checked types."""
        if kind not in CHECKED_TYPES:
            return condition
        wanted_version, fields, authorization = CHECKED_TYPES[kind]
        if version != wanted_version:
            raise helix_error(400, f"unsupported version {version!r} for {kind}")
        given = {k: v for k, v in condition.items() if v}
        if kind == "channel.raid":
            if len(given) != 1 or not set(given) <= fields:
                raise helix_error(400, "exactly one of from/to_broadcaster_user_id is required")
            return {field: given.get(field, "") for field in sorted(fields)}
        if set(given) != fields:
            raise helix_error(400, f"the condition of {kind} needs {', '.join(sorted(fields))}")
        if authorization is not None:
            field, scope = authorization
            if not self._has_granted(given[field], scope):
                raise helix_error(403, "subscription missing proper authorization")
        return given

    def _has_granted(self, user_id: str, scope: str) -> bool:
        """Whether ``user_id`` authorized this client with ``scope`` (a grant not revoked)."""
        return any(
            issued.user_id == user_id
            and issued.token_type == "user"
            and scope in issued.scopes
            and not issued.revoked
            for issued in self.tokens.values()
        )

    def _eventsub_totals(self) -> dict[str, int]:
        return {
            "total": len(self.eventsub),
            "total_cost": sum(s["cost"] for s in self.eventsub.values()),
            "max_total_cost": self.max_total_cost,
        }

    async def _list_eventsub(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request)
            filters = {
                k: request.query[k]
                for k in ("status", "type", "user_id", "subscription_id")
                if k in request.query
            }
            if len(filters) > 1:
                raise helix_error(400, "Only one filter may be used")
            visible = [
                s
                for s in self.eventsub.values()
                if (s["_owner"] is None) == (caller.token_type == "app")
                and (s["_owner"] is None or s["_owner"] == caller.user_id)
                and _matches(s, filters)
            ]
            page, cursor = _page(visible, request.query.get("after"), self.page_size)
            return web.json_response(
                {
                    "data": [_public(s) for s in page],
                    **self._eventsub_totals(),
                    "pagination": {"cursor": cursor} if cursor else {},
                }
            )

    async def _delete_eventsub(self, request: web.Request) -> web.Response:
        with self._lock:
            self._caller(request)
            if self.eventsub.pop(request.query.get("id", ""), None) is None:
                raise helix_error(404, "The subscription was not found")
            return web.Response(status=204)


def _matches(subscription: dict[str, Any], filters: dict[str, str]) -> bool:
    for name, value in filters.items():
        if name == "subscription_id" and subscription["id"] != value:
            return False
        if name in ("status", "type") and subscription[name] != value:
            return False
        if name == "user_id" and value not in subscription["condition"].values():
            return False
    return True


def _apply_reward_fields(reward: dict[str, Any], fields: dict[str, Any]) -> None:
    for name in (
        "title",
        "cost",
        "prompt",
        "is_enabled",
        "background_color",
        "is_user_input_required",
        "is_paused",
        "should_redemptions_skip_request_queue",
    ):
        if name in fields:
            reward[name] = fields[name]
    for setting, flag, value in (
        ("max_per_stream_setting", "is_max_per_stream_enabled", "max_per_stream"),
        (
            "max_per_user_per_stream_setting",
            "is_max_per_user_per_stream_enabled",
            "max_per_user_per_stream",
        ),
        ("global_cooldown_setting", "is_global_cooldown_enabled", "global_cooldown_seconds"),
    ):
        if flag in fields:
            reward[setting]["is_enabled"] = fields[flag]
        if value in fields:
            reward[setting][value] = fields[value]


def _check_reward(reward: dict[str, Any]) -> None:
    """Helix's 400s for a reward's prompt and limits: a limit that is on needs a count of at
    least 1; the cooldown goes up to 7 days; a prompt has at most 200 characters."""
    prompt = reward["prompt"]
    if not isinstance(prompt, str) or len(prompt) > 200:
        raise helix_error(400, "The prompt must be at most 200 characters")
    for setting, value, high in (
        ("max_per_stream_setting", "max_per_stream", None),
        ("max_per_user_per_stream_setting", "max_per_user_per_stream", None),
        ("global_cooldown_setting", "global_cooldown_seconds", 604_800),
    ):
        limit = reward[setting]
        if not isinstance(limit["is_enabled"], bool):
            raise helix_error(400, f"The {setting} flag must be a boolean")
        count = limit[value]
        if isinstance(count, bool) or not isinstance(count, int):
            raise helix_error(400, f"The {value} must be an integer")
        if limit["is_enabled"] and (count < 1 or (high is not None and count > high)):
            top = f" and at most {high}" if high is not None else ""
            raise helix_error(400, f"The {value} must be at least 1{top}")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _without_email(user: dict[str, Any], caller: IssuedToken) -> dict[str, Any]:
    if caller.user_id == user["id"] and "user:read:email" in caller.scopes:
        return dict(user)
    return {k: v for k, v in user.items() if k != "email"}


def _first_param(request: web.Request, *, default: int, high: int) -> int:
    raw = request.query.get("first")
    if raw is None:
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= high:
        raise helix_error(400, f"first must be 1 to {high}")
    return int(raw)


def _page(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except ValueError:
            raise helix_error(400, "The cursor is not valid") from None
    end = start + size
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise helix_error(400, "The body must be a JSON object")
    return body


__all__ = [
    "OTHER_CLIENT_ID",
    "FakeChannel",
    "HelixRoutes",
    "Reply",
    "SentChatMessage",
    "fixture",
    "helix_error",
]
