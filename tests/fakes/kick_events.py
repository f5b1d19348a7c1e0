"""The fake Kick's event subscriptions (``/public/v1/events/subscriptions``) and its signed
webhook deliveries, mixed into :class:`tests.fakes.kick_server.FakeKick`: one subscription per
broadcaster and event type, refused while the app's webhooks are off; deliveries signed with the
fake's key, whose public half ``GET /public/v1/public-key`` serves (as Kick's, ``{"data":
{"public_key": <PEM>}, "message": "OK"}``); :meth:`KickEvents.rotate_key` changes it, as Kick
may."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from core.platforms.http import tls_context
from core.platforms.kick.signing import new_message_id, signed_headers
from core.platforms.kick.webhook import KICK_EVENT_TYPES
from tests.fakes.kick_shapes import (
    IssuedToken,
    api_error,
    body_int,
    int_params,
    json_object,
    ok,
    rfc3339,
    webhook_key_pair,
)


class KickEvents:
    """Subscriptions and webhooks, on the fake's state below (set by ``FakeKick.__init__``)."""

    _lock: threading.RLock
    clock: Callable[[], datetime]
    app_id: str
    webhooks_enabled: bool
    subscriptions: dict[str, dict[str, Any]]
    _caller: Callable[..., IssuedToken]
    _rotated_key: tuple[RSAPrivateKey, str] | None = None  # rotate_key's; else the shared pair
    # Fields each result gets instead of a subscription (``{"error": True}``, say): a refusal
    # in a shape of the test's choosing.
    subscription_refusal: dict[str, Any] | None = None

    def drop_subscription(self, subscription_id: str) -> None:
        """Forget a subscription, as Kick does after a day of failed deliveries."""
        with self._lock:
            del self.subscriptions[subscription_id]

    @property
    def public_key_pem(self) -> str:
        return self._key_pair()[1]

    @property
    def private_key(self) -> RSAPrivateKey:
        return self._key_pair()[0]

    def send_webhook(
        self,
        target_url: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        private_key: RSAPrivateKey | None = None,
        message_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> httpx.Response:
        """POST a signed delivery to ``target_url`` (blocking). ``private_key`` defaults to the
        fake's own, whose public half ``GET /public/v1/public-key`` serves. Use
        :meth:`send_webhook_async` when the receiver runs on the caller's event loop."""
        body, headers = self._delivery(event_type, payload, private_key, message_id, timestamp)
        with httpx.Client(timeout=10, trust_env=False, verify=tls_context()) as client:
            return client.post(target_url, content=body, headers=headers)

    async def send_webhook_async(
        self,
        target_url: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        private_key: RSAPrivateKey | None = None,
        message_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> httpx.Response:
        body, headers = self._delivery(event_type, payload, private_key, message_id, timestamp)
        async with httpx.AsyncClient(timeout=10, trust_env=False, verify=tls_context()) as client:
            return await client.post(target_url, content=body, headers=headers)

    def _delivery(
        self,
        event_type: str,
        payload: dict[str, Any],
        private_key: RSAPrivateKey | None,
        message_id: str | None,
        timestamp: datetime | None,
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        headers = signed_headers(
            private_key or self.private_key,
            body,
            event_type=event_type,
            message_id=message_id,
            timestamp=timestamp or self.clock(),
        )
        broadcaster = payload.get("broadcaster")
        broadcaster_id = broadcaster.get("user_id") if isinstance(broadcaster, dict) else None
        with self._lock:
            for subscription in self.subscriptions.values():
                if (
                    subscription["event"] == event_type
                    and subscription["broadcaster_user_id"] == broadcaster_id
                ):
                    headers["Kick-Event-Subscription-Id"] = subscription["id"]
        return body, {**headers, "Content-Type": "application/json"}

    def rotate_key(self, private_key: RSAPrivateKey, public_pem: str) -> None:
        """Kick changes its signing key: deliveries are signed with ``private_key`` from now
        on, and ``GET /public/v1/public-key`` serves ``public_pem``."""
        with self._lock:
            self._rotated_key = (private_key, public_pem)

    def _key_pair(self) -> tuple[RSAPrivateKey, str]:
        return self._rotated_key or webhook_key_pair()

    async def _create_subscriptions(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("events:subscribe",))
            if body.get("method", "webhook") != "webhook":
                raise api_error(400, "method must be webhook")
            events = body.get("events")
            if not isinstance(events, list) or not events:
                raise api_error(400, "events is required")
            if caller.token_type == "app":
                broadcaster_user_id = body_int(body, "broadcaster_user_id")
            else:
                broadcaster_user_id = caller.user_id
            results = [self._subscribe(broadcaster_user_id, event) for event in events]
            return ok(results)

    def _subscribe(self, broadcaster_user_id: int | None, event: Any) -> dict[str, Any]:
        name = event.get("name") if isinstance(event, dict) else None
        version = event.get("version") if isinstance(event, dict) else None
        result: dict[str, Any] = {"name": name, "version": version}
        if not self.webhooks_enabled:
            return {**result, "error": "webhooks are not enabled for app"}
        if self.subscription_refusal is not None:
            return {**result, **self.subscription_refusal}
        if name not in KICK_EVENT_TYPES or version != 1:
            return {**result, "error": "invalid event name or version"}
        for existing in self.subscriptions.values():
            if (existing["broadcaster_user_id"], existing["event"]) == (broadcaster_user_id, name):
                return {**result, "subscription_id": existing["id"]}
        now = rfc3339(self.clock())
        subscription_id = new_message_id()
        self.subscriptions[subscription_id] = {
            "id": subscription_id,
            "app_id": self.app_id,
            "broadcaster_user_id": broadcaster_user_id,
            "event": name,
            "version": version,
            "method": "webhook",
            "created_at": now,
            "updated_at": now,
        }
        return {**result, "subscription_id": subscription_id}

    async def _list_subscriptions(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("events:subscribe",))
            if caller.token_type == "user":
                wanted = {caller.user_id}
            else:
                wanted = set(int_params(request, "broadcaster_user_id"))
            return ok(
                [
                    dict(s)
                    for s in self.subscriptions.values()
                    if not wanted or s["broadcaster_user_id"] in wanted
                ]
            )

    async def _delete_subscriptions(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("events:subscribe",))
            ids = request.query.getall("id", [])
            if not ids:
                raise api_error(400, "id is required")
            for subscription_id in ids:
                subscription = self.subscriptions.get(subscription_id)
                if subscription is not None and (
                    caller.token_type == "app"
                    or subscription["broadcaster_user_id"] == caller.user_id
                ):
                    del self.subscriptions[subscription_id]
            return web.Response(status=204)

    async def _public_key(self, request: web.Request) -> web.Response:
        return ok({"public_key": self.public_key_pem})
