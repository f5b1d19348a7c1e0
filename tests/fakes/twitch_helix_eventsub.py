"""The fake Twitch's EventSub subscriptions (Helix ``/eventsub/subscriptions``), mixed into
:class:`tests.fakes.twitch_helix.HelixRoutes`: ``409`` for an identical type, version,
condition and transport, ``429`` for a fourth one with the same type and condition; follow,
raid and cheer subscriptions checked as Twitch's subscription types page has them (follow only
as version 2 with a moderator, a raid by one of its two broadcasters, follows and cheers only
once the user named granted the scope, else ``403``); a raid lists its unset broadcaster as
``""``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.twitch_helix_shapes import (
    Reply,
    fixture,
    helix_error,
    json_object,
    page_of,
    public,
    rfc3339,
)

if TYPE_CHECKING:
    from tests.fakes.twitch_server import IssuedToken

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


class HelixEventSub:
    """EventSub subscriptions, on the state :class:`HelixRoutes` sets up."""

    _lock: threading.RLock
    clock: Callable[[], datetime]
    client_id: str
    page_size: int
    tokens: dict[str, IssuedToken]
    eventsub: dict[str, dict[str, Any]]
    _caller: Callable[..., IssuedToken]

    async def _create_eventsub(self, request: web.Request) -> web.Response:
        body = await json_object(request)
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
                "created_at": rfc3339(self.clock()),
                "transport": public_transport,
                "cost": 0,
                "_owner": caller.user_id if method == "websocket" else None,
            }
            self.eventsub[subscription["id"]] = subscription
            return web.json_response(
                {"data": [public(subscription)], **self._eventsub_totals()}, status=202
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
            page, cursor = page_of(visible, request.query.get("after"), self.page_size)
            return web.json_response(
                {
                    "data": [public(s) for s in page],
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
