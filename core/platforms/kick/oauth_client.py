"""Kick's OAuth 2.1 server (``id.kick.com``) over HTTP: PKCE, the authorize URL, token grants
and revocation. No storage and no web framework: callers keep the tokens.

Token requests are form-encoded. A request that reached Kick is never made again (an
authorization code works once, and a refresh token may be spent by it); one that never left (no
connection) or that Kick answered 429 is, as :class:`~core.platforms.http.Backoff` allows. No
exception message or log line carries a token, code, verifier or the client secret; Kick's revoke
endpoint takes the token in the query string, so a filter blanks ``token=`` out of httpx's
request log line.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx

from core.platforms.http import Retry, retry_after
from core.platforms.oauth import (
    OAuthClient,
    parse_token_set,
    usable_token_set,
)
from core.platforms.oauth import json_or_none as _json
from core.platforms.oauth import nonempty_text as _text
from core.platforms.tokens import TokenSet, bounded_scopes

log = logging.getLogger(__name__)

_LOOPBACK = "127.0.0.1"
TOKEN_TYPE_MAX = 20  # "Bearer"; cut as Twitch's client cuts it


class OAuthError(Exception):
    """Kick's OAuth server refused a request. ``error`` is Kick's ``error`` field (an OAuth code
    such as ``invalid_grant``, or plain words such as ``Invalid request``); ``status`` is None
    when no HTTP answer came back."""

    def __init__(self, error: str, description: str, status: int | None) -> None:
        super().__init__(f"Kick OAuth {status or 'unreachable'}: {error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class NeedsReauthorization(Exception):
    """A connection's token is missing or was revoked and cannot be refreshed: the account owner
    must sign in again."""


class InvalidGrant(OAuthError):
    """The code or refresh token is unknown, used, expired or revoked, or the verifier or
    redirect URI does not match: the user must authorize again."""


def make_pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)``: 64 URL-safe characters, and the unpadded
    base64url SHA-256 of them (method ``S256``)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    base_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    code_challenge: str,
) -> str:
    """Where to send the user to grant ``scopes``; scopes are space-separated (``%20``).

    Kick's front end rewrites the first ``127.0.0.1`` in this URL to ``localhost``, so a
    loopback ``redirect_uri`` gets a harmless ``redirect=127.0.0.1`` parameter in front of it
    to absorb the rewrite (the workaround in Kick's docs).
    """
    params: list[tuple[str, str]] = [("client_id", client_id), ("response_type", "code")]
    if _LOOPBACK in redirect_uri:
        params.append(("redirect", _LOOPBACK))
    params += [
        ("redirect_uri", redirect_uri),
        ("scope", " ".join(scopes)),
        ("state", state),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
    ]
    return f"{base_url.rstrip('/')}/oauth/authorize?{urlencode(params, quote_via=quote)}"


class KickOAuthClient(OAuthClient):
    """See :class:`~core.platforms.oauth.OAuthClient` for the constructor (``http``, ``clock``
    and the retries)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, **options: Any) -> None:
        super().__init__(base_url, client_id, client_secret, **options)
        _hide_tokens_in_httpx_log()

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        """Trade the callback's ``code`` for a user token (with a refresh token)."""
        return await self._token_grant(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            secrets_in_play=(code, code_verifier),
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A new access and refresh token; store the new refresh token every time."""
        return await self._token_grant(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            secrets_in_play=(refresh_token,),
        )

    async def revoke(
        self, token: str, hint: Literal["access_token", "refresh_token"] = "access_token"
    ) -> None:
        """Revoke ``token``. Kick reads ``token`` and ``token_hint_type`` (not RFC 7009's
        ``token_type_hint``) from the query string, not the body."""
        response = await self._post(
            "/oauth/revoke", params={"token": token, "token_hint_type": hint}, secrets=(token,)
        )
        if response.status_code != httpx.codes.OK:
            raise self._error(response, (token,))

    async def _token_grant(
        self, form: dict[str, str], *, secrets_in_play: Sequence[str]
    ) -> TokenSet:
        response = await self._post(
            "/oauth/token", data=self._grant_form(form), secrets=secrets_in_play
        )
        if response.status_code != httpx.codes.OK:
            raise self._error(response, secrets_in_play)
        body = _json(response)
        if (
            isinstance(body, dict)
            and "access_token" not in body
            and isinstance(body.get("data"), dict)
        ):
            body = body["data"]
        token_set = parse_token_set(
            body,
            now=self._clock(),
            scopes=_split_scopes,
            default_type="Bearer",
            token_type_limit=TOKEN_TYPE_MAX,
        )
        return usable_token_set(token_set, now=self._clock(), refuse=_invalid_response)

    async def _post(
        self,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        secrets: Sequence[str],
    ) -> httpx.Response:
        """Kick's answer below 400; one of 400 or more is raised as :class:`OAuthError` (with
        ``secrets`` blanked out of it). Made again only when it never left or Kick answered
        429: one that reached Kick may have spent its code or refresh token."""

        def refusal(response: httpx.Response) -> Exception:
            error = self._error(response, secrets)
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
                return Retry(error, "answered 429", retry_after(response))
            return error

        return await self._send_with_retries(
            "POST",
            self._base_url + path,
            backoff=self._backoff,
            on_retry=self._backoff.logging_to(log, f"Kick OAuth POST {path}"),
            # Only the kind of failure: the request (and its URL) may carry a token.
            unreachable=lambda no_answer: OAuthError(
                "unreachable", f"POST {path}: no answer ({no_answer.kind})", None
            ),
            refusal=refusal,
            is_idempotent=False,
            data=data,
            params=params,
            headers={"Accept": "application/json"},
        )

    def _error(self, response: httpx.Response, secrets_in_play: Sequence[str]) -> OAuthError:
        body = _json(response)
        fields = body if isinstance(body, dict) else {}
        error = _text(fields.get("error")) or _text(fields.get("message")) or "http_error"
        description = (
            _text(fields.get("error_description"))
            or (_text(fields.get("message")) if "error" in fields else None)
            or response.reason_phrase
            or f"HTTP {response.status_code}"
        )
        error = self._redact(error, secrets_in_play)[:100]
        description = self._redact(description, secrets_in_play)[:300]
        kind = InvalidGrant if error == "invalid_grant" else OAuthError
        log.info("Kick OAuth %s refused: %s (%s)", response.url.path, error, response.status_code)
        return kind(error, description, response.status_code)


def _split_scopes(scope: Any) -> tuple[str, ...]:
    """Kick's ``scope``: one space-separated string, bounded as Twitch's are."""
    return bounded_scopes(scope.split()) if isinstance(scope, str) else ()


def _invalid_response(reason: str) -> OAuthError:
    return OAuthError("invalid_response", reason, 200)


class _TokenQueryFilter(logging.Filter):
    """Blanks ``token=...`` query values in the URL that httpx logs for every request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) and "token" in arg.params for arg in record.args
        ):
            record.args = tuple(_blank_token(arg) for arg in record.args)
        return True


def _blank_token(arg: object) -> object:
    if isinstance(arg, httpx.URL) and "token" in arg.params:
        return str(arg.copy_set_param("token", "[redacted]"))
    return arg


def _hide_tokens_in_httpx_log() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _TokenQueryFilter) for f in httpx_log.filters):
        httpx_log.addFilter(_TokenQueryFilter())


__all__ = [
    "InvalidGrant",
    "KickOAuthClient",
    "OAuthError",
    "TokenSet",
    "authorize_url",
    "make_pkce_pair",
    "pkce_challenge",
]
