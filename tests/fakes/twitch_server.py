"""A fake Twitch on 127.0.0.1: id.twitch.tv's OAuth (``/oauth2/...``) and Helix (``/helix/...``)
on one port, so ``fake.oauth_url`` and ``fake.helix_url`` stand for ``TWITCH_OAUTH_BASE_URL``
and ``TWITCH_API_BASE_URL``.

It runs aiohttp in its own thread and event loop, so sync and async tests use it alike::

    with FakeTwitch() as twitch:
        helix = HelixClient(twitch.helix_url, twitch.client_id)

Replies are built from the fixtures in ``tests/fixtures/twitch/{helix,oauth}`` (their shapes and
Twitch's own error bodies), following ``platforms/twitch.md``: Helix errors are
``{"error", "status", "message"}``; every Helix answer carries ``Ratelimit-Limit``,
``-Remaining`` and ``-Reset`` from a bucket per client id (app tokens) or per client id and user
(user tokens); the client id must be the token's (else 401); a missing scope is 401. Refresh
tokens rotate: a refresh makes the old one unusable (``rotate_refresh_tokens``). The Helix
routes live in :mod:`tests.fakes.twitch_helix`; where Twitch's behaviour is undocumented, the
fake picks one and says so there.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from tests.fakes.scripted import Failure, Scripted
from tests.fakes.threaded import ThreadedServer, json_or_none, redirect
from tests.fakes.twitch_helix import OTHER_CLIENT_ID, HelixRoutes, Reply, fixture, helix_error

CLIENT_ID = "fake-twitch-client-id"
CLIENT_SECRET = "fake-twitch-client-secret"
USER_TOKEN_SECONDS = 14_124  # the fixture's expires_in: a few hours
APP_TOKEN_SECONDS = 5_011_271  # about 58 days, as Twitch's app tokens
RATE_LIMIT_POINTS = 800
HOLD_LIMIT_SECONDS = 120.0  # a held answer goes out after this long however the test ends


def oauth_error(status: int, message: str) -> Reply:
    """id.twitch.tv's error shape (``oauth/validate_401.json``): ``{status, message}``."""
    return Reply(status, {"status": status, "message": message})


@dataclass
class RecordedRequest:
    method: str
    path: str
    auth: str  # "none", "user", "app" or "invalid"
    status: int
    query: dict[str, list[str]]
    client_id: str | None = None
    json: Any = None
    form: dict[str, str] | None = None
    arrived_at: float = 0.0  # time.monotonic() in this process when the request came in


@dataclass
class IssuedToken:
    value: str
    kind: Literal["access", "refresh"]
    token_type: Literal["user", "app"]
    user_id: str | None
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime | None  # None: a refresh token
    revoked: bool = False


@dataclass
class AuthorizationCode:
    code: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user_id: str
    is_used: bool = False


@dataclass
class _Bucket:
    remaining: int
    reset_at: datetime


class FakeTwitch(HelixRoutes, ThreadedServer, Scripted["RecordedRequest"]):
    """``user_id``/``login`` are the user who consents at ``/oauth2/authorize`` (a channel is
    made for them). ``redirect_uris`` are the app's registered redirect URLs (None: any)."""

    NAME = "FakeTwitch"
    THREAD = "fake-twitch"

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        user_id: str = "141981764",
        login: str = "twitchdev",
        redirect_uris: Iterable[str] | None = None,
        rotate_refresh_tokens: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.consenting_user_id = user_id
        self.redirect_uris = None if redirect_uris is None else set(redirect_uris)
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.clock = clock
        self.rate_limit_points = RATE_LIMIT_POINTS
        self.tokens: dict[str, IssuedToken] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self._start_script()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self.add_channel(user_id, login)

    @property
    def oauth_url(self) -> str:
        return f"{self.url}/oauth2"

    @property
    def helix_url(self) -> str:
        return f"{self.url}/helix"

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/oauth2/authorize", self._authorize),
            web.post("/oauth2/token", self._token),
            web.get("/oauth2/validate", self._validate),
            web.post("/oauth2/revoke", self._revoke),
            *self.helix_routes("/helix"),
        ]

    # Tokens

    def issue_user_token(
        self, user_id: str | None = None, scopes: Iterable[str] | None = None
    ) -> str:
        """An access token for ``user_id`` (default: the consenting user), as if authorized
        with ``scopes`` (default: every scope StreamKeeper asks for)."""
        from core.platforms.twitch.oauth_client import SCOPES

        with self._lock:
            owner = self.consenting_user_id if user_id is None else user_id
            granted = tuple(SCOPES if scopes is None else scopes)
            return self._issue("access", "user", owner, granted).value

    def issue_refresh_token(self, user_id: str | None = None) -> str:
        """A refresh token for ``user_id`` (default: the consenting user), as if authorized."""
        from core.platforms.twitch.oauth_client import SCOPES

        with self._lock:
            owner = self.consenting_user_id if user_id is None else user_id
            return self._issue("refresh", "user", owner, tuple(SCOPES)).value

    def issue_app_token(self, client_id: str | None = None) -> str:
        with self._lock:
            issued = self._issue("access", "app", None, ())
            issued.client_id = client_id or self.client_id
            return issued.value

    def expire_token(self, token: str) -> None:
        with self._lock:
            self.tokens[token].expires_at = self.clock() - timedelta(seconds=1)

    def revoke_grant(self, user_id: str | None = None) -> None:
        """Every token of the user dies, as on a password change or "Disconnect" on twitch.tv."""
        owner = self.consenting_user_id if user_id is None else user_id
        with self._lock:
            for issued in self.tokens.values():
                if issued.user_id == owner:
                    issued.revoked = True

    def is_token_active(self, token: str) -> bool:
        with self._lock:
            issued = self.tokens.get(token)
            return issued is not None and self._is_live(issued)

    # Scripted behaviour

    def hold_answer_next(self, path: str, *, method: str | None = None) -> threading.Event:
        """The next request to ``path`` is done at once (Twitch acts: a VIP is added), but its
        answer is held until the returned event is set (or ``HOLD_LIMIT_SECONDS``): the test
        may kill the caller meanwhile, between Twitch's change and the caller learning of it."""
        release = threading.Event()
        self._add_failure(path, Failure(method and method.upper(), 0, 1, answer_held=release))
        return release

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
    ) -> None:
        """The next ``times`` requests to ``path`` (any method, or ``method``) get ``status``
        and ``body`` (default: the Helix error envelope) without being processed."""
        failure = Failure(method and method.upper(), status, times, body, dict(headers or {}))
        self._add_failure(path, failure)

    # Plumbing

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        arrived_at = time.monotonic()
        form = dict(await request.post()) if request.content_type.endswith("urlencoded") else None
        json_body = await json_or_none(request)
        with self._lock:
            auth = self._auth_kind(request)
            failure = self._take_failure(request)
            bucket = self._spend_point(request) if request.path.startswith("/helix/") else None
        held = failure.answer_held if failure is not None else None
        if held is not None:
            failure = None  # processed as usual; the answer waits below
        if failure is not None and failure.delay_seconds:
            await failure.hold()
            failure = None  # a slow answer, then the usual one
        if failure is not None and not failure.is_disconnect:
            response: web.StreamResponse = _failure_response(failure)
        elif bucket is not None and bucket.remaining < 0:
            body = helix_error(429, "Too Many Requests").body
            response = web.json_response(body, status=429)
        else:
            try:
                response = await handler(request)
            except Reply as reply:
                response = web.json_response(reply.body, status=reply.status)
        if bucket is not None:  # a scripted failure's own headers win
            response.headers.setdefault("Ratelimit-Limit", str(self.rate_limit_points))
            response.headers.setdefault("Ratelimit-Remaining", str(max(0, bucket.remaining)))
            response.headers.setdefault("Ratelimit-Reset", str(int(bucket.reset_at.timestamp())))
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    auth=auth,
                    status=0 if failure and failure.is_disconnect else response.status,
                    query={k: request.query.getall(k) for k in request.query},
                    client_id=request.headers.get("Client-Id"),
                    json=json_body,
                    form={k: str(v) for k, v in form.items()} if form is not None else None,
                    arrived_at=arrived_at,
                )
            )
        if failure is not None and failure.is_disconnect and request.transport is not None:
            request.transport.abort()
        if held is not None:
            await asyncio.to_thread(held.wait, HOLD_LIMIT_SECONDS)
        return response

    def _spend_point(self, request: web.Request) -> _Bucket | None:
        """One point from the caller's bucket (a negative ``remaining`` means refused); None
        for a request without a live token, which Helix answers 401 anyway."""
        issued = self._bearer(request)
        if issued is None:
            return None
        key = (issued.client_id, issued.user_id or "")
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = _Bucket(self.rate_limit_points, now + timedelta(minutes=1))
            self._buckets[key] = bucket
        if bucket.remaining > 0:
            bucket.remaining -= 1
            return bucket
        return _Bucket(-1, bucket.reset_at)

    def _bearer(self, request: web.Request) -> IssuedToken | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        issued = self.tokens.get(header.removeprefix("Bearer ").strip())
        if issued is None or issued.kind != "access" or not self._is_live(issued):
            return None
        return issued

    def _auth_kind(self, request: web.Request) -> str:
        if not request.headers.get("Authorization"):
            return "none"
        issued = self._bearer(request)
        return "invalid" if issued is None else issued.token_type

    def _is_live(self, issued: IssuedToken) -> bool:
        return not issued.revoked and (
            issued.expires_at is None or issued.expires_at > self.clock()
        )

    def _issue(
        self,
        kind: Literal["access", "refresh"],
        token_type: Literal["user", "app"],
        user_id: str | None,
        scopes: tuple[str, ...],
    ) -> IssuedToken:
        seconds = APP_TOKEN_SECONDS if token_type == "app" else USER_TOKEN_SECONDS
        issued = IssuedToken(
            value=secrets.token_hex(15),  # Twitch's tokens are 30 lowercase characters
            kind=kind,
            token_type=token_type,
            user_id=user_id,
            client_id=self.client_id,
            scopes=scopes,
            expires_at=self.clock() + timedelta(seconds=seconds) if kind == "access" else None,
        )
        self.tokens[issued.value] = issued
        return issued

    def _token_reply(self, access: IssuedToken, refresh: IssuedToken | None) -> dict[str, Any]:
        """The shape of ``oauth/token_authorization_code.json``, with this grant's values."""
        assert access.expires_at is not None
        values = {
            "access_token": access.value,
            "expires_in": int((access.expires_at - self.clock()).total_seconds()),
            "refresh_token": refresh.value if refresh else None,
            "scope": list(access.scopes),
            "token_type": "bearer",
        }
        reply = {key: values[key] for key in fixture("oauth/token_authorization_code.json")}
        if refresh is None:  # client credentials: no refresh token, no scope
            del reply["refresh_token"], reply["scope"]
        return reply

    # OAuth

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            if query.get("client_id") != self.client_id:
                raise oauth_error(400, "invalid client")
            redirect_uri = query.get("redirect_uri", "")
            if not redirect_uri or (
                self.redirect_uris is not None and redirect_uri not in self.redirect_uris
            ):
                raise oauth_error(400, "Parameter redirect_uri does not match registered URI")
            state = query.get("state", "")
            if query.get("response_type") != "code":
                raise oauth_error(400, "unsupported response_type")
            if self._deny_consents:
                self._deny_consents -= 1
                return redirect(
                    redirect_uri,
                    error="access_denied",
                    error_description="The user denied you access",
                    state=state,
                )
            scopes = tuple(query.get("scope", "").split())
            code = secrets.token_hex(15)
            self.codes[code] = AuthorizationCode(
                code, redirect_uri, scopes, self.consenting_user_id
            )
            return redirect(redirect_uri, code=code, scope=" ".join(scopes), state=state)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        with self._lock:
            if form.get("client_id") != self.client_id:
                raise oauth_error(400, "invalid client")
            if form.get("client_secret") != self.client_secret:
                raise oauth_error(403, "invalid client secret")
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                code = self.codes.get(str(form.get("code", "")))
                if code is None or code.is_used or code.redirect_uri != form.get("redirect_uri"):
                    raise oauth_error(400, "Invalid authorization code")
                code.is_used = True
                access = self._issue("access", "user", code.user_id, code.scopes)
                refresh = self._issue("refresh", "user", code.user_id, code.scopes)
                return web.json_response(self._token_reply(access, refresh))
            if grant_type == "refresh_token":
                old = self.tokens.get(str(form.get("refresh_token", "")))
                if old is None or old.kind != "refresh" or old.revoked:
                    raise oauth_error(400, "Invalid refresh token")
                if self.rotate_refresh_tokens:
                    old.revoked = True
                access = self._issue("access", "user", old.user_id, old.scopes)
                refresh = self._issue("refresh", "user", old.user_id, old.scopes)
                return web.json_response(self._token_reply(access, refresh))
            if grant_type == "client_credentials":
                return web.json_response(
                    self._token_reply(self._issue("access", "app", None, ()), None)
                )
            raise oauth_error(400, "Invalid grant type")

    async def _validate(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        with self._lock:
            issued = self.tokens.get(header.removeprefix("OAuth ").strip())
            if (
                not header.startswith("OAuth ")
                or issued is None
                or issued.kind != "access"
                or not self._is_live(issued)
            ):
                raise Reply(401, fixture("oauth/validate_401.json"))
            assert issued.expires_at is not None
            user = self.users.get(issued.user_id or "", {})
            values = {
                "client_id": issued.client_id,
                "login": user.get("login"),
                "scopes": list(issued.scopes),
                "user_id": issued.user_id,
                "expires_in": int((issued.expires_at - self.clock()).total_seconds()),
            }
            reply = {key: values[key] for key in fixture("oauth/validate_200.json")}
            if issued.token_type == "app":
                del reply["login"], reply["user_id"]
            return web.json_response(reply)

    async def _revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        with self._lock:
            if form.get("client_id") != self.client_id:
                raise oauth_error(404, "client does not exist")
            issued = self.tokens.get(str(form.get("token", "")))
            if issued is None or issued.revoked or issued.client_id != self.client_id:
                raise Reply(400, fixture("oauth/revoke_400.json"))
            issued.revoked = True
            return web.Response(status=200)


def _failure_response(failure: Failure) -> web.Response:
    body = failure.body
    if body is None:
        body = helix_error(failure.status, HTTPStatus(failure.status).phrase).body
    if isinstance(body, str | bytes):
        return web.Response(body=body, status=failure.status, headers=failure.headers)
    return web.json_response(body, status=failure.status, headers=failure.headers)


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "OTHER_CLIENT_ID",
    "FakeTwitch",
    "IssuedToken",
    "RecordedRequest",
    "fixture",
]
