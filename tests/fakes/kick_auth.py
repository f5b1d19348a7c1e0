"""The fake Kick's OAuth server and tokens (``/oauth/...``), mixed into
:class:`tests.fakes.kick_server.FakeKick`: authorization codes with PKCE, user and app access
tokens, refresh (rotating or not) and revoke; and who a request's bearer token is,
which every API route asks (:meth:`KickAuth._caller`)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web

from tests.fakes.kick_shapes import (
    APP_TOKEN_SECONDS,
    SCOPES,
    TEN_YEARS_SECONDS,
    AuthorizationCode,
    IssuedToken,
    api_error,
    oauth_error,
)
from tests.fakes.threaded import redirect


class KickAuth:
    """OAuth and tokens, on the fake's state below (set by ``FakeKick.__init__``)."""

    _lock: threading.RLock
    clock: Callable[[], datetime]
    client_id: str
    client_secret: str
    consenting_user_id: int
    redirect_uris: set[str] | None
    access_token_seconds: int
    rotate_refresh_tokens: bool
    tokens: dict[str, IssuedToken]
    codes: dict[str, AuthorizationCode]
    _deny_consents: int

    def issue_user_token(self, user_id: int | None = None, scopes: Iterable[str] = SCOPES) -> str:
        """An access token for ``user_id`` (default: the consenting user), as if authorized."""
        with self._lock:
            owner = self.consenting_user_id if user_id is None else user_id
            return self._issue("access", "user", owner, tuple(scopes)).value

    def issue_refresh_token(self, user_id: int | None = None) -> str:
        """A refresh token for ``user_id`` (default: the consenting user), as if authorized."""
        with self._lock:
            owner = self.consenting_user_id if user_id is None else user_id
            return self._issue("refresh", "user", owner, SCOPES).value

    def issue_app_token(self) -> str:
        with self._lock:
            return self._issue("access", "app", None, ()).value

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

    def is_token_active(self, token: str) -> bool:
        with self._lock:
            issued = self.tokens.get(token)
            return issued is not None and self._is_live(issued)

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
            raise api_error(401, "Unauthorized")
        issued = self.tokens.get(header.removeprefix("Bearer ").strip())
        if issued is None or issued.kind != "access" or not self._is_live(issued):
            raise api_error(401, "Unauthorized")
        if issued.token_type == "app" and not allow_app:
            raise api_error(403, "This endpoint needs a user access token")
        if issued.token_type == "user" and not allow_user:
            raise api_error(403, "This endpoint needs an app access token")
        if issued.token_type == "user" and scopes and not set(scopes) & set(issued.scopes):
            raise api_error(403, f"Missing scope: {' or '.join(scopes)}")
        return issued

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            if query.get("client_id") != self.client_id:
                raise oauth_error(400, "invalid_client", "unknown client_id")
            redirect_uri = query.get("redirect_uri", "")
            if not redirect_uri or (
                self.redirect_uris is not None and redirect_uri not in self.redirect_uris
            ):
                raise oauth_error(400, "invalid_request", "redirect_uri is not registered")
            state = query.get("state")
            if not state:
                raise oauth_error(400, "invalid_request", "state is required")
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
            raise oauth_error(400, "Invalid request")
        form = await request.post()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        with self._lock:
            if (
                fields.get("client_id") != self.client_id
                or fields.get("client_secret") != self.client_secret
            ):
                raise oauth_error(401, "invalid_client", "client authentication failed")
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
        raise oauth_error(400, "unsupported_grant_type")

    def _grant_code(self, fields: dict[str, str]) -> web.Response:
        for name in ("code", "redirect_uri", "code_verifier"):
            if not fields.get(name):
                raise oauth_error(400, "invalid_request", f"{name} is required")
        code = self.codes.get(fields["code"])
        if code is None or code.is_used or code.expires_at <= self.clock():
            raise oauth_error(400, "invalid_grant", "authorization code is invalid or expired")
        if fields["redirect_uri"] != code.redirect_uri:
            raise oauth_error(400, "invalid_grant", "redirect_uri does not match")
        if _challenge(fields["code_verifier"]) != code.code_challenge:
            raise oauth_error(400, "invalid_grant", "code_verifier does not match")
        code.is_used = True
        return self._user_token_reply(code.user_id, code.scopes)

    def _grant_refresh(self, fields: dict[str, str]) -> web.Response:
        issued = self.tokens.get(fields.get("refresh_token", ""))
        if issued is None or issued.kind != "refresh" or issued.revoked:
            raise oauth_error(400, "invalid_grant", "refresh token is invalid or revoked")
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
            raise oauth_error(400, "Invalid request")
        with self._lock:
            issued = self.tokens.get(token)
            if issued is not None:
                issued.revoked = True
        return web.Response(status=200, text="OK")


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
