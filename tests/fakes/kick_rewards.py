"""The fake Kick's channel rewards and their redemptions (``/public/v1/channels/rewards...``),
mixed into :class:`tests.fakes.kick_server.FakeKick`: a broadcaster's rewards, redemptions paged
and grouped by reward, accepted or rejected once each (``{"data": [updated], "failed": [...]}``,
where Kick's behaviour is not documented)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from core.platforms.kick.signing import new_message_id
from tests.fakes.kick_shapes import IssuedToken, api_error, json_object, ok, page_of, rfc3339


class KickRewards:
    """Rewards and redemptions, on the fake's state below (set by ``FakeKick.__init__``)."""

    _lock: threading.RLock
    clock: Callable[[], datetime]
    page_size: int
    rewards: dict[str, dict[str, Any]]
    redemptions: dict[str, dict[str, Any]]
    _caller: Callable[..., IssuedToken]

    def add_reward(self, broadcaster_user_id: int, title: str, cost: int, **fields: Any) -> str:
        reward_id = new_message_id()
        with self._lock:
            self.rewards[reward_id] = {
                "id": reward_id,
                "broadcaster_user_id": broadcaster_user_id,
                "title": title,
                "cost": cost,
                "description": "",
                "background_color": "#00e701",
                "is_enabled": True,
                "is_paused": False,
                "is_user_input_required": False,
                "should_redemptions_skip_request_queue": False,
                **fields,
            }
        return reward_id

    def add_redemption(
        self,
        reward_id: str,
        redeemer_user_id: int,
        *,
        user_input: str = "",
        status: str = "pending",
    ) -> str:
        redemption_id = new_message_id()
        with self._lock:
            self.redemptions[redemption_id] = {
                "id": redemption_id,
                "reward_id": reward_id,
                "redeemer_user_id": redeemer_user_id,
                "user_input": user_input,
                "status": status,
                "redeemed_at": rfc3339(self.clock()),
            }
        return redemption_id

    async def _list_rewards(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request,
                scopes=("channel:rewards:read", "channel:rewards:write"),
                allow_app=False,
            )
            return ok(
                [
                    {k: v for k, v in reward.items() if k != "broadcaster_user_id"}
                    for reward in self.rewards.values()
                    if reward["broadcaster_user_id"] == caller.user_id
                ]
            )

    async def _list_redemptions(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request,
                scopes=("channel:rewards:read", "channel:rewards:write"),
                allow_app=False,
            )
            query = request.query
            status = query.get("status")
            if status not in (None, "pending", "accepted", "rejected"):
                raise api_error(400, "status must be pending, accepted or rejected")
            ids = set(query.getall("id", []))
            matching = [
                r
                for r in self.redemptions.values()
                if self._owns_redemption(caller, r)
                and (not query.get("reward_id") or r["reward_id"] == query["reward_id"])
                and (status is None or r["status"] == status)
                and (not ids or r["id"] in ids)
            ]
            page, next_cursor = page_of(matching, query.get("cursor"), self.page_size)
            groups: dict[str, dict[str, Any]] = {}
            for redemption in page:
                reward = self.rewards[redemption["reward_id"]]
                group = groups.setdefault(
                    reward["id"],
                    {
                        "reward": {
                            "id": reward["id"],
                            "title": reward["title"],
                            "cost": reward["cost"],
                            "description": reward["description"],
                            "can_manage": True,
                            "is_deleted": False,
                        },
                        "redemptions": [],
                    },
                )
                group["redemptions"].append(_redemption_json(redemption))
            return ok(list(groups.values()), pagination={"next_cursor": next_cursor})

    def _owns_redemption(self, caller: IssuedToken, redemption: dict[str, Any]) -> bool:
        reward = self.rewards.get(redemption["reward_id"])
        return reward is not None and reward["broadcaster_user_id"] == caller.user_id

    async def _accept(self, request: web.Request) -> web.Response:
        return await self._decide(request, "accepted")

    async def _reject(self, request: web.Request) -> web.Response:
        return await self._decide(request, "rejected")

    async def _decide(self, request: web.Request, status: str) -> web.Response:
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("channel:rewards:write",), allow_app=False)
            ids = body.get("ids")
            if (
                not isinstance(ids, list)
                or not 1 <= len(ids) <= 25
                or len(set(map(str, ids))) != len(ids)
            ):
                raise api_error(400, "ids must hold 1 to 25 unique redemption ids")
            updated: list[dict[str, Any]] = []
            failed: list[dict[str, str]] = []
            for redemption_id in map(str, ids):
                redemption = self.redemptions.get(redemption_id)
                if redemption is None or not self._owns_redemption(caller, redemption):
                    failed.append({"id": redemption_id, "reason": "NOT_FOUND"})
                elif redemption["status"] != "pending":
                    failed.append({"id": redemption_id, "reason": "NOT_PENDING"})
                else:
                    redemption["status"] = status
                    updated.append(_redemption_json(redemption))
            return ok(updated, failed=failed)


def _redemption_json(redemption: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": redemption["id"],
        "redeemed_at": redemption["redeemed_at"],
        "redeemer": {"user_id": redemption["redeemer_user_id"]},
        "status": redemption["status"],
        "user_input": redemption["user_input"],
    }
