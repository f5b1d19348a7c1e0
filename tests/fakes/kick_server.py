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
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal

import httpx
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from core.platforms.http import tls_context
from core.platforms.kick.signing import (
    generate_key_pair,
    new_message_id,
    signed_headers,
)
from core.platforms.kick.webhook import KICK_EVENT_TYPES
from tests.fakes.scripted import Failure, Scripted
from tests.fakes.threaded import ThreadedServer, json_or_none, redirect

CLIENT_ID = "fake-kick-client-id"
CLIENT_SECRET = "fake-kick-client-secret"
SCOPES: tuple[str, ...] = (
    "user:read",
    "channel:read",
    "channel:write",
    "channel:rewards:read",
    "channel:rewards:write",
    "chat:write",
    "streamkey:read",
    "events:subscribe",
    "moderation:ban",
    "moderation:chat_message:manage",
    "kicks:read",
)
APP_TOKEN_SECONDS = 5_184_000  # 60 days, as seen in Kick issue #239
TEN_YEARS_SECONDS = 10 * 365 * 24 * 3600
NO_BOT_MESSAGE = "Channel not found"


@dataclass
class RecordedRequest:
    method: str
    path: str
    auth: str  # "none", "user", "app" or "invalid" (a bearer token that is not a live access token)
    status: int
    query: dict[str, list[str]]
    json: Any = None


@dataclass
class IssuedToken:
    value: str
    kind: Literal["access", "refresh"]
    token_type: Literal["user", "app"]
    user_id: int | None
    scopes: tuple[str, ...]
    expires_at: datetime | None  # None: a refresh token, which does not expire
    revoked: bool = False


@dataclass
class AuthorizationCode:
    code: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    user_id: int
    expires_at: datetime
    is_used: bool = False


@dataclass
class FakeChannel:
    slug: str
    broadcaster_user_id: int
    channel_id: int
    chatroom_id: int
    description: str = ""
    stream_title: str = ""
    category: dict[str, Any] | None = None
    is_live: bool = False
    viewer_count: int = 0
    started_at: datetime | None = None
    language: str = "en"
    is_mature: bool = False
    custom_tags: list[str] = field(default_factory=list)
    stream_key: str = field(default_factory=lambda: f"sk_{secrets.token_hex(8)}")


@dataclass
class SentChatMessage:
    message_id: str
    type: str
    content: str
    broadcaster_user_id: int
    sender_user_id: int
    reply_to_message_id: str | None = None


@dataclass
class Ban:
    broadcaster_user_id: int
    user_id: int
    duration_minutes: int | None
    reason: str | None


class _Reply(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _api_error(status: int, message: str) -> _Reply:
    return _Reply(status, {"data": None, "message": message})


def _oauth_error(status: int, error: str, description: str | None = None) -> _Reply:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return _Reply(status, body)


def _ok(data: Any, **extra: Any) -> web.Response:
    return web.json_response({"data": data, **extra, "message": "OK"})


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _webhook_key_pair() -> tuple[RSAPrivateKey, str]:
    """The key pair every fake Kick in this process signs its webhooks with: making a 2048-bit
    RSA key takes about 80 ms of CPU, and no test wants two fakes with different keys (a test
    of a wrong signature makes its own stranger's key)."""
    return generate_key_pair()


class FakeKick(ThreadedServer, Scripted["RecordedRequest"]):
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
            web.post("/oauth/token/introspect", self._introspect),
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

    # Seeding state

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
                "redeemed_at": _rfc3339(self.clock()),
            }
        return redemption_id

    def issue_user_token(self, user_id: int | None = None, scopes: Iterable[str] = SCOPES) -> str:
        """An access token for ``user_id`` (default: the consenting user), as if authorized."""
        with self._lock:
            owner = self.consenting_user_id if user_id is None else user_id
            return self._issue("access", "user", owner, tuple(scopes)).value

    def issue_app_token(self) -> str:
        with self._lock:
            return self._issue("access", "app", None, ()).value

    # Scripted behaviour

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
        method: str | None = None,
    ) -> None:
        """The next ``times`` requests to ``path`` (any method, or ``method``) get ``status``
        without being processed, with ``Retry-After`` if given and ``body`` (default: Kick-style
        ``{"data": null, "message": <reason>}``)."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        self._add_failure(path, Failure(method and method.upper(), status, times, body, headers))

    def expire_token(self, token: str) -> None:
        with self._lock:
            issued = self.tokens[token]
            issued.expires_at = self.clock() - timedelta(seconds=1)

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far stops working: the next refresh is
        ``invalid_grant``."""
        with self._lock:
            for issued in self.tokens.values():
                if issued.kind == "refresh":
                    issued.revoked = True

    def drop_subscription(self, subscription_id: str) -> None:
        """Forget a subscription, as Kick does after a day of failed deliveries."""
        with self._lock:
            del self.subscriptions[subscription_id]

    # Inspection

    def is_token_active(self, token: str) -> bool:
        with self._lock:
            issued = self.tokens.get(token)
            return issued is not None and self._is_live(issued)

    @property
    def public_key_pem(self) -> str:
        return self._key_pair()[1]

    @property
    def private_key(self) -> RSAPrivateKey:
        return self._key_pair()[0]

    # Webhooks

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

    def _key_pair(self) -> tuple[RSAPrivateKey, str]:
        return _webhook_key_pair()

    # Plumbing

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
            except _Reply as reply:
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

    def _auth_kind(self, request: web.Request) -> str:
        header = request.headers.get("Authorization")
        if not header:
            return "none"
        issued = self.tokens.get(header.removeprefix("Bearer ").strip())
        if issued is None or issued.kind != "access" or not self._is_live(issued):
            return "invalid"
        return issued.token_type

    def _is_live(self, issued: IssuedToken) -> bool:
        return not issued.revoked and (
            issued.expires_at is None or issued.expires_at > self.clock()
        )

    def _issue(
        self,
        kind: Literal["access", "refresh"],
        token_type: Literal["user", "app"],
        user_id: int | None,
        scopes: tuple[str, ...],
    ) -> IssuedToken:
        seconds = APP_TOKEN_SECONDS if token_type == "app" else self.access_token_seconds
        # The reply says ``access_token_seconds`` as given (tests set absurd values); the fake's
        # own bookkeeping stops at ten years, so that it never overflows a datetime.
        seconds = min(seconds, TEN_YEARS_SECONDS)
        issued = IssuedToken(
            value=secrets.token_urlsafe(32),
            kind=kind,
            token_type=token_type,
            user_id=user_id,
            scopes=scopes,
            expires_at=self.clock() + timedelta(seconds=seconds) if kind == "access" else None,
        )
        self.tokens[issued.value] = issued
        return issued

    def _caller(
        self,
        request: web.Request,
        *,
        scopes: tuple[str, ...] = (),
        allow_app: bool = True,
        allow_user: bool = True,
    ) -> IssuedToken:
        """The live access token of the request, allowed here and holding one of ``scopes``."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _api_error(401, "Unauthorized")
        issued = self.tokens.get(header.removeprefix("Bearer ").strip())
        if issued is None or issued.kind != "access" or not self._is_live(issued):
            raise _api_error(401, "Unauthorized")
        if issued.token_type == "app" and not allow_app:
            raise _api_error(403, "This endpoint needs a user access token")
        if issued.token_type == "user" and not allow_user:
            raise _api_error(403, "This endpoint needs an app access token")
        if issued.token_type == "user" and scopes and not set(scopes) & set(issued.scopes):
            raise _api_error(403, f"Missing scope: {' or '.join(scopes)}")
        return issued

    def _channel_of(self, broadcaster_user_id: int | None) -> FakeChannel | None:
        return next(
            (c for c in self.channels.values() if c.broadcaster_user_id == broadcaster_user_id),
            None,
        )

    # OAuth

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            if query.get("client_id") != self.client_id:
                raise _oauth_error(400, "invalid_client", "unknown client_id")
            redirect_uri = query.get("redirect_uri", "")
            if not redirect_uri or (
                self.redirect_uris is not None and redirect_uri not in self.redirect_uris
            ):
                raise _oauth_error(400, "invalid_request", "redirect_uri is not registered")
            state = query.get("state")
            if not state:
                raise _oauth_error(400, "invalid_request", "state is required")
            scopes = tuple(query.get("scope", "").split())
            if query.get("response_type") != "code":
                return redirect(redirect_uri, error="unsupported_response_type", state=state)
            if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
                return redirect(redirect_uri, error="invalid_request", state=state)
            if not scopes or any(scope not in SCOPES for scope in scopes):
                return redirect(redirect_uri, error="invalid_scope", state=state)
            if self._deny_consents:
                self._deny_consents -= 1
                return redirect(redirect_uri, error="access_denied", state=state)
            code = AuthorizationCode(
                code=secrets.token_urlsafe(24),
                redirect_uri=redirect_uri,
                code_challenge=query["code_challenge"],
                scopes=scopes,
                user_id=self.consenting_user_id,
                expires_at=self.clock() + timedelta(minutes=10),
            )
            self.codes[code.code] = code
        return redirect(redirect_uri, code=code.code, state=state)

    async def _token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            raise _oauth_error(400, "Invalid request")
        form = await request.post()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        with self._lock:
            if (
                fields.get("client_id") != self.client_id
                or fields.get("client_secret") != self.client_secret
            ):
                raise _oauth_error(401, "invalid_client", "client authentication failed")
            grant_type = fields.get("grant_type")
            if grant_type == "authorization_code":
                return self._grant_code(fields)
            if grant_type == "refresh_token":
                return self._grant_refresh(fields)
            if grant_type == "client_credentials":
                issued = self._issue("access", "app", None, ())
                return web.json_response(
                    {
                        "access_token": issued.value,
                        "token_type": "Bearer",
                        "expires_in": APP_TOKEN_SECONDS,
                    }
                )
        raise _oauth_error(400, "unsupported_grant_type")

    def _grant_code(self, fields: dict[str, str]) -> web.Response:
        for name in ("code", "redirect_uri", "code_verifier"):
            if not fields.get(name):
                raise _oauth_error(400, "invalid_request", f"{name} is required")
        code = self.codes.get(fields["code"])
        if code is None or code.is_used or code.expires_at <= self.clock():
            raise _oauth_error(400, "invalid_grant", "authorization code is invalid or expired")
        if fields["redirect_uri"] != code.redirect_uri:
            raise _oauth_error(400, "invalid_grant", "redirect_uri does not match")
        if _challenge(fields["code_verifier"]) != code.code_challenge:
            raise _oauth_error(400, "invalid_grant", "code_verifier does not match")
        code.is_used = True
        return self._user_token_reply(code.user_id, code.scopes)

    def _grant_refresh(self, fields: dict[str, str]) -> web.Response:
        issued = self.tokens.get(fields.get("refresh_token", ""))
        if issued is None or issued.kind != "refresh" or issued.revoked:
            raise _oauth_error(400, "invalid_grant", "refresh token is invalid or revoked")
        if self.rotate_refresh_tokens:
            issued.revoked = True
        assert issued.user_id is not None
        return self._user_token_reply(issued.user_id, issued.scopes)

    def _user_token_reply(self, user_id: int, scopes: tuple[str, ...]) -> web.Response:
        access = self._issue("access", "user", user_id, scopes)
        refresh = self._issue("refresh", "user", user_id, scopes)
        return web.json_response(
            {
                "access_token": access.value,
                "token_type": "Bearer",
                "refresh_token": refresh.value,
                "expires_in": self.access_token_seconds,
                "scope": " ".join(scopes),
            }
        )

    async def _revoke(self, request: web.Request) -> web.Response:
        token = request.query.get("token")
        hint = request.query.get("token_hint_type")
        if not token or hint not in (None, "access_token", "refresh_token"):
            raise _oauth_error(400, "Invalid request")
        with self._lock:
            issued = self.tokens.get(token)
            if issued is not None:
                issued.revoked = True
        return web.Response(status=200, text="OK")

    async def _introspect(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _api_error(401, "Unauthorized")
        with self._lock:
            issued = self.tokens.get(header.removeprefix("Bearer ").strip())
            if issued is None or issued.kind != "access" or not self._is_live(issued):
                return _ok({"active": False})
            assert issued.expires_at is not None
            return _ok(
                {
                    "active": True,
                    "client_id": self.client_id,
                    "token_type": issued.token_type,
                    "scope": " ".join(issued.scopes),
                    "exp": int(issued.expires_at.timestamp()),
                }
            )

    # Users, channels, livestreams

    async def _get_users(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(request, scopes=("user:read",))
            ids = _int_params(request, "id")
            if not ids:
                ids = [caller.user_id] if caller.user_id is not None else []
            return _ok(
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
            ids = _int_params(request, "broadcaster_user_id")
            if slugs and ids:
                raise _api_error(400, "Use either slug or broadcaster_user_id, not both")
            if len(slugs) > 50 or len(ids) > 50:
                raise _api_error(400, "At most 50 values")
            if any(not slug or len(slug) > 25 for slug in slugs):
                raise _api_error(400, "A slug has 1 to 25 characters")
            if slugs:
                channels = [self.channels.get(slug) for slug in slugs]
                if any(channel is None for channel in channels):
                    raise _Reply(404, {"data": [], "message": "Channel not found"})
            elif ids:
                channels = [self._channel_of(user_id) for user_id in ids]
            else:
                channels = [self._channel_of(caller.user_id)]
            return _ok([self._channel_json(c, caller) for c in channels if c is not None])

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
                "start_time": _rfc3339(channel.started_at) if channel.started_at else None,
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
            ids = set(_int_params(request, "broadcaster_user_id"))
            limit = _int_param(request, "limit", default=100)
            if not 1 <= limit <= 1000:
                raise _api_error(400, "limit must be 1 to 1000")
            live = [
                c
                for c in self.channels.values()
                if c.is_live and (not ids or c.broadcaster_user_id in ids)
            ]
            page, next_cursor = _page(live, request.query.get("cursor"), min(limit, self.page_size))
            items = [
                {
                    "broadcaster_user_id": c.broadcaster_user_id,
                    "channel_id": c.channel_id,
                    "slug": c.slug,
                    "stream_title": c.stream_title,
                    "started_at": _rfc3339(c.started_at) if c.started_at else None,
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
            return _ok(items, pagination={"next_cursor": next_cursor})

    # Chat

    async def _post_chat(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("chat:write",), allow_app=False)
            kind = body.get("type")
            content = body.get("content")
            if kind not in ("user", "bot"):
                raise _api_error(400, "type must be user or bot")
            if not isinstance(content, str) or not 1 <= len(content) <= 500:
                raise _api_error(400, "content must be 1 to 500 characters")
            reply_to = body.get("reply_to_message_id")
            if kind == "bot":
                if not self.bot_enabled:
                    raise _api_error(400, NO_BOT_MESSAGE)
                broadcaster_user_id = caller.user_id
            else:
                broadcaster_user_id = _body_int(body, "broadcaster_user_id")
            if self._channel_of(broadcaster_user_id) is None:
                raise _api_error(404, NO_BOT_MESSAGE)
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
            return _ok({"is_sent": True, "message_id": message.message_id})

    # Event subscriptions

    async def _create_subscriptions(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("events:subscribe",))
            if body.get("method", "webhook") != "webhook":
                raise _api_error(400, "method must be webhook")
            events = body.get("events")
            if not isinstance(events, list) or not events:
                raise _api_error(400, "events is required")
            if caller.token_type == "app":
                broadcaster_user_id = _body_int(body, "broadcaster_user_id")
            else:
                broadcaster_user_id = caller.user_id
            results = [self._subscribe(broadcaster_user_id, event) for event in events]
            return _ok(results)

    def _subscribe(self, broadcaster_user_id: int | None, event: Any) -> dict[str, Any]:
        name = event.get("name") if isinstance(event, dict) else None
        version = event.get("version") if isinstance(event, dict) else None
        result: dict[str, Any] = {"name": name, "version": version}
        if not self.webhooks_enabled:
            return {**result, "error": "webhooks are not enabled for app"}
        if name not in KICK_EVENT_TYPES or version != 1:
            return {**result, "error": "invalid event name or version"}
        for existing in self.subscriptions.values():
            if (existing["broadcaster_user_id"], existing["event"]) == (broadcaster_user_id, name):
                return {**result, "subscription_id": existing["id"]}
        now = _rfc3339(self.clock())
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
                wanted = set(_int_params(request, "broadcaster_user_id"))
            return _ok(
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
                raise _api_error(400, "id is required")
            for subscription_id in ids:
                subscription = self.subscriptions.get(subscription_id)
                if subscription is not None and (
                    caller.token_type == "app"
                    or subscription["broadcaster_user_id"] == caller.user_id
                ):
                    del self.subscriptions[subscription_id]
            return web.Response(status=204)

    # Channel rewards

    async def _list_rewards(self, request: web.Request) -> web.Response:
        with self._lock:
            caller = self._caller(
                request,
                scopes=("channel:rewards:read", "channel:rewards:write"),
                allow_app=False,
            )
            return _ok(
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
                raise _api_error(400, "status must be pending, accepted or rejected")
            ids = set(query.getall("id", []))
            matching = [
                r
                for r in self.redemptions.values()
                if self._owns_redemption(caller, r)
                and (not query.get("reward_id") or r["reward_id"] == query["reward_id"])
                and (status is None or r["status"] == status)
                and (not ids or r["id"] in ids)
            ]
            page, next_cursor = _page(matching, query.get("cursor"), self.page_size)
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
            return _ok(list(groups.values()), pagination={"next_cursor": next_cursor})

    def _owns_redemption(self, caller: IssuedToken, redemption: dict[str, Any]) -> bool:
        reward = self.rewards.get(redemption["reward_id"])
        return reward is not None and reward["broadcaster_user_id"] == caller.user_id

    async def _accept(self, request: web.Request) -> web.Response:
        return await self._decide(request, "accepted")

    async def _reject(self, request: web.Request) -> web.Response:
        return await self._decide(request, "rejected")

    async def _decide(self, request: web.Request, status: str) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("channel:rewards:write",), allow_app=False)
            ids = body.get("ids")
            if (
                not isinstance(ids, list)
                or not 1 <= len(ids) <= 25
                or len(set(map(str, ids))) != len(ids)
            ):
                raise _api_error(400, "ids must hold 1 to 25 unique redemption ids")
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
            return _ok(updated, failed=failed)

    # Moderation

    async def _ban(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("moderation:ban",), allow_app=False)
            broadcaster_user_id, user_id = self._ban_target(caller, body)
            duration = body.get("duration")
            if duration is not None and (
                not isinstance(duration, int) or not 1 <= duration <= 10_080
            ):
                raise _api_error(400, "duration must be 1 to 10080 minutes")
            reason = body.get("reason")
            if reason is not None and (not isinstance(reason, str) or len(reason) > 100):
                raise _api_error(400, "reason must be at most 100 characters")
            self.bans[(broadcaster_user_id, user_id)] = Ban(
                broadcaster_user_id, user_id, duration, reason
            )
            return _ok({})

    async def _unban(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        with self._lock:
            caller = self._caller(request, scopes=("moderation:ban",), allow_app=False)
            broadcaster_user_id, user_id = self._ban_target(caller, body)
            self.bans.pop((broadcaster_user_id, user_id), None)
            return _ok({})

    def _ban_target(self, caller: IssuedToken, body: dict[str, Any]) -> tuple[int, int]:
        broadcaster_user_id = _body_int(body, "broadcaster_user_id")
        user_id = _body_int(body, "user_id")
        if broadcaster_user_id != caller.user_id:
            raise _api_error(403, "You can only moderate your own channel")
        return broadcaster_user_id, user_id

    async def _public_key(self, request: web.Request) -> web.Response:
        return _ok({"public_key": self.public_key_pem})


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _redemption_json(redemption: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": redemption["id"],
        "redeemed_at": redemption["redeemed_at"],
        "redeemer": {"user_id": redemption["redeemer_user_id"]},
        "status": redemption["status"],
        "user_input": redemption["user_input"],
    }


def _page(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except ValueError:
            raise _api_error(400, "invalid cursor") from None
    end = start + size
    next_cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], next_cursor


def _int_params(request: web.Request, name: str) -> list[int]:
    try:
        return [int(value) for value in request.query.getall(name, [])]
    except ValueError:
        raise _api_error(400, f"{name} must be a whole number") from None


def _int_param(request: web.Request, name: str, *, default: int) -> int:
    values = _int_params(request, name)
    return values[0] if values else default


def _body_int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _api_error(400, f"{name} is required and must be a number")
    return value


async def _json_object(request: web.Request) -> dict[str, Any]:
    body = await json_or_none(request)
    if not isinstance(body, dict):
        raise _api_error(400, "the body must be a JSON object")
    return body


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
