"""The fake Twitch's custom rewards and their redemptions (Helix
``/channel_points/custom_rewards...``), mixed into :class:`tests.fakes.twitch_helix.HelixRoutes`:
only the client that made a reward may change it or its redemptions, at most
``MAX_REWARDS`` per channel, a partner's or affiliate's channel only; a reward's JSON follows the
Helix reference (no fixture holds one), with its limits checked as Helix does."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.twitch_helix_shapes import (
    OTHER_CLIENT_ID,
    FakeChannel,
    first_param,
    helix_error,
    json_object,
    page_of,
    public,
    rfc3339,
)

if TYPE_CHECKING:
    from tests.fakes.twitch_server import IssuedToken

MAX_REWARDS = 50


class HelixRewards:
    """Rewards and redemptions, on the state :class:`HelixRoutes` sets up."""

    _lock: threading.RLock
    clock: Callable[[], datetime]
    client_id: str
    page_size: int
    max_total_cost: int
    users: dict[str, dict[str, Any]]
    channels: dict[str, FakeChannel]
    rewards: dict[str, dict[str, Any]]
    redemptions: dict[str, dict[str, Any]]
    add_user: Callable[..., dict[str, Any]]
    _caller: Callable[..., IssuedToken]
    _own_channel: Callable[..., FakeChannel]

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
                "redeemed_at": rfc3339(self.clock()),
                "reward": {k: reward[k] for k in ("id", "title", "prompt", "cost")},
            }
            return redemption_id

    def delete_reward_on_twitch_tv(self, reward_id: str) -> None:
        """The streamer deletes the reward in the Twitch dashboard: as Helix's DELETE, its
        UNFULFILLED redemptions become FULFILLED (no refund), and Helix answers 404 for it."""
        with self._lock:
            self._forget_reward(reward_id)

    def _forget_reward(self, reward_id: str) -> None:
        del self.rewards[reward_id]
        for redemption in self.redemptions.values():
            is_pending = redemption["status"] == "UNFULFILLED"
            if redemption["reward"]["id"] == reward_id and is_pending:
                redemption["status"] = "FULFILLED"

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
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:redemptions",), allow_app=False)
            channel = self._partner_channel(request, caller)
            reward = self._new_reward(channel.broadcaster_id, body, caller.client_id)
            return web.json_response({"data": [public(reward)]})

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
            return web.json_response({"data": [public(r) for r in found]})

    async def _update_reward(self, request: web.Request) -> web.Response:
        body = await json_object(request)
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
            return web.json_response({"data": [public(reward)]})

    async def _delete_reward(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("channel:manage:redemptions",), allow_app=False)
            self._partner_channel(request, caller)
            reward = self._owned_reward(request, caller, request.query.get("id", ""))
            self._forget_reward(reward["id"])
            return web.Response(status=204)

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
            first = first_param(request, default=20, high=50)
            found = [
                r
                for r in self.redemptions.values()
                if r["reward"]["id"] == reward["id"]
                and (not ids or r["id"] in ids)
                and (status is None or r["status"] == status)
            ]
            page, cursor = page_of(found, request.query.get("after"), min(first, self.page_size))
            return web.json_response(
                {"data": page, "pagination": {"cursor": cursor} if cursor else {}}
            )

    async def _update_redemptions(self, request: web.Request) -> web.Response:
        body = await json_object(request)
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
