"""A fake Kick on 127.0.0.1: the public API (``/public/v1``, ``/public/v2``) and the OAuth server
(``/oauth/...``) on one port, so ``fake.url`` serves as both ``KICK_API_BASE_URL`` and
``KICK_OAUTH_BASE_URL``.

It runs aiohttp in its own thread and event loop, so sync tests and async tests (whatever their
loop) use it the same way::

    with FakeKick() as kick:
        api = KickApi(kick.url)

Shapes follow ``platforms/kick.md``: success is ``{"data": ..., "message": "OK"}``, OAuth errors are
``{"error": ..., "error_description": ...}``, deleting subscriptions answers 204, revoke reads
``token`` and ``token_hint_type`` from the query string. The token endpoint checks the client
id and secret, the code, its redirect URI and the PKCE verifier. Where Kick's behaviour is not
documented the fake picks one and says so: an unknown slug answers 404, accept/reject answers
``{"data": [updated], "failed": [{id, reason}]}``, v2 livestreams page with
``pagination.next_cursor``.

Scripting (:mod:`tests.fakes.scripted`): ``fail_next`` answers Kick's errors, ``disconnect_next``
drops the connection after acting, ``hang_next`` answers only after a delay, or once the test
releases it (a client that gives up first cannot tell whether the request was acted on: the
fake acts when the hang ends).

Tokens are plain random strings; the fake keeps no secret of its own apart from a throwaway
webhook signing key.

This module holds the server, its state and the users, channels, livestreams, chat and
moderation routes; OAuth and tokens are ``kick_auth.py``, event subscriptions and webhooks
``kick_events.py``, rewards and redemptions ``kick_rewards.py``, the shapes they share
``kick_shapes.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes.kick_auth import KickAuth
from tests.fakes.kick_events import KickEvents
from tests.fakes.kick_rewards import KickRewards
from tests.fakes.kick_shapes import (
    CLIENT_ID,
    CLIENT_SECRET,
    NO_BOT_MESSAGE,
    SCOPES,
    AuthorizationCode,
    Ban,
    FakeChannel,
    IssuedToken,
    RecordedRequest,
    Reply,
    SentChatMessage,
    api_error,
    body_int,
    int_param,
    int_params,
    json_object,
    ok,
    page_of,
    rfc3339,
)
from tests.fakes.scripted import Failure, Scripted
from tests.fakes.threaded import ThreadedServer, json_or_none


class FakeKick(KickAuth, KickEvents, KickRewards, ThreadedServer, Scripted["RecordedRequest"]):
    """``user_id``/``username`` are the user who consents at ``/oauth/authorize`` (a channel with
    that slug is created for them). ``redirect_uris`` are the app's registered redirect URLs
    (None: any). Refresh tokens stay usable after a refresh, as Kick's have since 2025-11-25,
    unless ``rotate_refresh_tokens``."""

    NAME = "FakeKick"
    THREAD = "fake-kick"

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        user_id: int = 1001,
        username: str = "streamer",
        redirect_uris: Iterable[str] | None = None,
        access_token_seconds: int = 3600,
        rotate_refresh_tokens: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_id = "fake-app-01"
        self.consenting_user_id = user_id
        self.redirect_uris = None if redirect_uris is None else set(redirect_uris)
        self.access_token_seconds = access_token_seconds
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.clock = clock
        self.webhooks_enabled = True
        self.bot_enabled = True  # "Create a BOT" pressed in the app settings
        self.page_size = 100  # most items per page on paged endpoints
        self.site_blocked = False  # True: the site API answers like Cloudflare's challenge page

        self.users: dict[int, dict[str, Any]] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.chat_messages: list[SentChatMessage] = []
        self.rewards: dict[str, dict[str, Any]] = {}
        self.redemptions: dict[str, dict[str, Any]] = {}
        self.bans: dict[tuple[int, int], Ban] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self._start_script()

        self.add_channel(username, user_id)

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/oauth/authorize", self._authorize),
            web.post("/oauth/token", self._token),
            web.post("/oauth/revoke", self._revoke),
            web.get("/public/v1/users", self._get_users),
            web.get("/public/v1/channels", self._get_channels),
            web.get("/public/v2/livestreams", self._get_livestreams),
            web.post("/public/v1/chat", self._post_chat),
            web.post("/public/v1/events/subscriptions", self._create_subscriptions),
            web.get("/public/v1/events/subscriptions", self._list_subscriptions),
            web.delete("/public/v1/events/subscriptions", self._delete_subscriptions),
            web.get("/public/v1/channels/rewards", self._list_rewards),
            web.get("/public/v1/channels/rewards/redemptions", self._list_redemptions),
            web.post("/public/v1/channels/rewards/redemptions/accept", self._accept),
            web.post("/public/v1/channels/rewards/redemptions/reject", self._reject),
            web.post("/public/v1/moderation/bans", self._ban),
            web.delete("/public/v1/moderation/bans", self._unban),
            web.get("/public/v1/public-key", self._public_key),
            # Kick's site API (kick.com/api/v2), which knows the Pusher ids.
            web.get("/api/v2/channels/{slug}", self._site_channel),
        ]

    def add_user(
        self,
        user_id: int,
        name: str,
        *,
        email: str | None = None,
        profile_picture: str | None = None,
    ) -> None:
        with self._lock:
            self.users[user_id] = {
                "user_id": user_id,
                "name": name,
                "email": email if email is not None else f"{name}@example.test",
                "profile_picture": profile_picture or f"https://files.example.test/{user_id}.webp",
            }

    def add_channel(
        self,
        slug: str,
        broadcaster_user_id: int,
        *,
        channel_id: int | None = None,
        chatroom_id: int | None = None,
        stream_title: str = "",
        description: str = "",
    ) -> FakeChannel:
        """A channel (and its user, if new). Channel and chatroom ids default to distinct
        numbers derived from the user id, as Kick's three ids are all different."""
        with self._lock:
            if broadcaster_user_id not in self.users:
                self.add_user(broadcaster_user_id, slug)
            channel = FakeChannel(
                slug=slug,
                broadcaster_user_id=broadcaster_user_id,
                channel_id=channel_id if channel_id is not None else broadcaster_user_id + 50_000,
                chatroom_id=chatroom_id
                if chatroom_id is not None
                else broadcaster_user_id + 90_000,
                stream_title=stream_title,
                description=description,
            )
            self.channels[slug] = channel
            return channel

    def go_live(
        self,
        broadcaster_user_id: int,
        *,
        title: str | None = None,
        viewer_count: int = 0,
        started_at: datetime | None = None,
        category: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            channel = self._channel_of(broadcaster_user_id)
            if channel is None:
                raise KeyError(broadcaster_user_id)
            channel.is_live = True
            channel.viewer_count = viewer_count
            channel.started_at = started_at or self.clock()
            if title is not None:
                channel.stream_title = title
            if category is not None:
                channel.category = category

    def go_offline(self, broadcaster_user_id: int) -> None:
        with self._lock:
            channel = self._channel_of(broadcaster_user_id)
            if channel is not None:
                channel.is_live = False
                channel.viewer_count = 0
                channel.started_at = None

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
        method: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` requests to ``path`` (any method, or ``method``) get ``status``
        without being processed, with ``Retry-After`` if given, ``headers`` and ``body``
        (default: Kick-style ``{"data": null, "message": <reason>}``)."""
        headers = dict(headers or {})
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        self._add_failure(path, Failure(method and method.upper(), status, times, body, headers))

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        with self._lock:
            auth = self._auth_kind(request)
            failure = self._take_failure(request)
        json_body = await json_or_none(request)
        if failure is not None and failure.delay_seconds:
            await failure.hold()
            failure = None  # a slow answer, then the usual one
        if failure is not None and not failure.is_disconnect:
            response: web.StreamResponse = self._failure_response(failure)
        else:
            try:
                response = await handler(request)
            except Reply as reply:
                response = web.json_response(reply.body, status=reply.status)
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    auth=auth,
                    status=0 if failure and failure.is_disconnect else response.status,
                    query={k: request.query.getall(k) for k in request.query},
                    json=json_body,
                )
            )
        if failure is not None and failure.is_disconnect and request.transport is not None:
            request.transport.abort()
        return response

    @staticmethod
    def _failure_response(failure: Failure) -> web.Response:
        body = failure.body
        if body is None:
            body = {"data": None, "message": HTTPStatus(failure.status).phrase}
        headers = dict(failure.headers)
        if isinstance(body, str | bytes):
            return web.Response(body=body, status=failure.status, headers=headers)
        return web.json_response(body, status=failure.status, headers=headers)

    def _channel_of(self, broadcaster_user_id: int | None) -> FakeChannel | None:
        return next(
            (c for c in self.channels.values() if c.broadcaster_user_id == broadcaster_user_id),
            None,
        )

    async def _get_users(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("user:read",))
            ids = int_params(request, "id")
            if not ids:
                ids = [caller.user_id] if caller.user_id is not None else []
            return ok(
                [
                    {**user, "email": user["email"] if user_id == caller.user_id else ""}
                    for user_id in ids
                    if (user := self.users.get(user_id)) is not None
                ]
            )

    async def _get_channels(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("channel:read",))
            slugs = request.query.getall("slug", [])
            ids = int_params(request, "broadcaster_user_id")
            if slugs and ids:
                raise api_error(400, "Use either slug or broadcaster_user_id, not both")
            if len(slugs) > 50 or len(ids) > 50:
                raise api_error(400, "At most 50 values")
            if any(not slug or len(slug) > 25 for slug in slugs):
                raise api_error(400, "A slug has 1 to 25 characters")
            if slugs:
                channels = [self.channels.get(slug) for slug in slugs]
                if any(channel is None for channel in channels):
                    raise Reply(404, {"data": [], "message": "Channel not found"})
            elif ids:
                channels = [self._channel_of(user_id) for user_id in ids]
            else:
                channels = [self._channel_of(caller.user_id)]
            return ok([self._channel_json(c, caller) for c in channels if c is not None])

    async def _site_channel(self, request: web.Request) -> web.Response:
        if self.site_blocked:
            return web.Response(status=403, text="<html>Just a moment...</html>")
        with self._lock:
            channel = self.channels.get(request.match_info["slug"].lower())
        if channel is None:
            return web.json_response({"message": "Not found"}, status=404)
        return web.json_response(
            {
                "id": channel.channel_id,
                "user_id": channel.broadcaster_user_id,
                "slug": channel.slug,
                "chatroom": {"id": channel.chatroom_id},
            }
        )

    def _channel_json(self, channel: FakeChannel, caller: IssuedToken) -> dict[str, Any]:
        is_owner_with_key = (
            caller.user_id == channel.broadcaster_user_id and "streamkey:read" in caller.scopes
        )
        return {
            "broadcaster_user_id": channel.broadcaster_user_id,
            "slug": channel.slug,
            "channel_description": channel.description,
            "banner_picture": "",
            "stream_title": channel.stream_title,
            "category": channel.category,
            "stream": {
                "is_live": channel.is_live,
                "is_mature": channel.is_mature,
                "language": channel.language,
                "start_time": rfc3339(channel.started_at) if channel.started_at else None,
                "viewer_count": channel.viewer_count,
                "thumbnail": "",
                "url": "rtmps://ingest.example.test/app" if is_owner_with_key else "",
                "key": channel.stream_key if is_owner_with_key else "",
            },
            "custom_tags": list(channel.custom_tags),
            "active_subscribers_count": 0,
        }

    async def _get_livestreams(self, request: web.Request) -> web.Response:
        with self._lock:
            self._caller(request)
            ids = set(int_params(request, "broadcaster_user_id"))
            limit = int_param(request, "limit", default=100)
            if not 1 <= limit <= 1000:
                raise api_error(400, "limit must be 1 to 1000")
            live = [
                c
                for c in self.channels.values()
                if c.is_live and (not ids or c.broadcaster_user_id in ids)
            ]
            page, next_cursor = page_of(
                live, request.query.get("cursor"), min(limit, self.page_size)
            )
            items = [
                {
                    "broadcaster_user_id": c.broadcaster_user_id,
                    "channel_id": c.channel_id,
                    "slug": c.slug,
                    "stream_title": c.stream_title,
                    "started_at": rfc3339(c.started_at) if c.started_at else None,
                    "viewer_count": c.viewer_count,
                    "language": c.language,
                    "has_mature_content": c.is_mature,
                    "category": c.category,
                    "thumbnail": "",
                    "profile_picture": self.users.get(c.broadcaster_user_id, {}).get(
                        "profile_picture", ""
                    ),
                    "custom_tags": list(c.custom_tags),
                }
                for c in page
            ]
            return ok(items, pagination={"next_cursor": next_cursor})

    async def _post_chat(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("chat:write",), allow_app=False)
            kind = body.get("type")
            content = body.get("content")
            if kind not in ("user", "bot"):
                raise api_error(400, "type must be user or bot")
            if not isinstance(content, str) or not 1 <= len(content) <= 500:
                raise api_error(400, "content must be 1 to 500 characters")
            reply_to = body.get("reply_to_message_id")
            if kind == "bot":
                if not self.bot_enabled:
                    raise api_error(400, NO_BOT_MESSAGE)
                broadcaster_user_id = caller.user_id
            else:
                broadcaster_user_id = body_int(body, "broadcaster_user_id")
            if self._channel_of(broadcaster_user_id) is None:
                raise api_error(404, NO_BOT_MESSAGE)
            assert broadcaster_user_id is not None
            assert caller.user_id is not None
            message = SentChatMessage(
                message_id=str(uuid.uuid4()),
                type=kind,
                content=content,
                broadcaster_user_id=broadcaster_user_id,
                sender_user_id=caller.user_id,
                reply_to_message_id=reply_to if isinstance(reply_to, str) else None,
            )
            self.chat_messages.append(message)
            return ok({"is_sent": True, "message_id": message.message_id})

    async def _ban(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("moderation:ban",), allow_app=False)
            broadcaster_user_id, user_id = self._ban_target(caller, body)
            duration = body.get("duration")
            if duration is not None and (
                not isinstance(duration, int) or not 1 <= duration <= 10_080
            ):
                raise api_error(400, "duration must be 1 to 10080 minutes")
            reason = body.get("reason")
            if reason is not None and (not isinstance(reason, str) or len(reason) > 100):
                raise api_error(400, "reason must be at most 100 characters")
            self.bans[(broadcaster_user_id, user_id)] = Ban(
                broadcaster_user_id, user_id, duration, reason
            )
            return ok({})

    async def _unban(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("moderation:ban",), allow_app=False)
            broadcaster_user_id, user_id = self._ban_target(caller, body)
            self.bans.pop((broadcaster_user_id, user_id), None)
            return ok({})

    def _ban_target(self, caller: IssuedToken, body: dict[str, Any]) -> tuple[int, int]:
        broadcaster_user_id = body_int(body, "broadcaster_user_id")
        user_id = body_int(body, "user_id")
        if broadcaster_user_id != caller.user_id:
            raise api_error(403, "You can only moderate your own channel")
        return broadcaster_user_id, user_id


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SCOPES",
    "AuthorizationCode",
    "Ban",
    "FakeChannel",
    "FakeKick",
    "IssuedToken",
    "RecordedRequest",
    "SentChatMessage",
]
