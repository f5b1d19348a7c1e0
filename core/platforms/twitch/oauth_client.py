"""Twitch's OAuth server (``id.twitch.tv/oauth2``) over HTTP: the authorize URL, token grants
(authorization code, refresh, client credentials), validation and revocation. No storage and no
web framework: callers keep the tokens (and the single-use ``state``, which the connections
feature stores and consumes).

Retries: a token grant is tried again only when the request never left (a connection that could
not be made) or Twitch answered 429/5xx before taking it: an authorization code works once and a
refresh rotates the refresh token, so repeating one whose answer was lost would burn the grant.
Validate and revoke are safe to repeat and are retried on 5xx and lost answers too.

No exception message, ``repr`` or log line carries a token, a code or the client secret.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from core.platforms import oauth
from core.platforms.http import Retry, retry_after
from core.platforms.lenient import NAME_MAX, BadValue, as_text, checked_id
from core.platforms.oauth import MAX_EXPIRES_IN_SECONDS, OAuthClient, lifetime, usable_token_set
from core.platforms.oauth import json_or_none as _json
from core.platforms.oauth import nonempty_text as _text
from core.platforms.tokens import TokenSet, bounded_scopes

log = logging.getLogger(__name__)

DEFAULT_OAUTH_BASE_URL = "https://id.twitch.tv/oauth2"
_MAX_TEXT = 300

# The union of twitch.md §3, asked for at consent time: adding one later needs a new consent.
SCOPES: tuple[str, ...] = (
    "channel:manage:vips",
    "channel:read:vips",
    "channel:manage:redemptions",
    "channel:read:redemptions",
    "channel:read:subscriptions",
    "user:read:chat",
    "user:write:chat",
    "user:bot",
    "channel:bot",
    "moderator:read:followers",  # channel.follow (v2), read as the broadcaster
    "bits:read",  # channel.cheer: cheer alerts and VIP rules for cheers
)


class TwitchOAuthError(Exception):
    """Twitch's OAuth server refused or failed a request. ``status`` is None when no HTTP answer
    came back; ``message`` is Twitch's ``message`` field (or the reason phrase)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Twitch OAuth {status or 'unreachable'}: {message}")
        self.status = status
        self.message = message


class InvalidGrant(TwitchOAuthError):
    """The code or refresh token is unknown, used, expired or revoked (Twitch answers 400): the
    grant is dead and the user must consent again. Never retry it."""


class InvalidToken(TwitchOAuthError):
    """``/validate`` answered 401: this access token is no longer valid (expired, revoked, or the
    user disconnected the app). Refresh it; an :class:`InvalidGrant` then means the grant is
    gone."""


class InvalidClient(TwitchOAuthError):
    """The client id or secret is wrong: a configuration problem, not the user's."""


@dataclass(frozen=True)
class TokenValidation:
    """What ``/validate`` says about a token; ``login`` and ``user_id`` are None for app tokens."""

    client_id: str
    login: str | None
    user_id: str | None
    scopes: tuple[str, ...]
    expires_at: datetime  # aware, UTC; bounded like a token reply's expires_in

    @property
    def is_app_token(self) -> bool:
        return self.user_id is None

    def missing_scopes(self, required: Iterable[str] = SCOPES) -> tuple[str, ...]:
        """The ``required`` scopes this token lacks: non-empty means ask for consent again."""
        have = set(self.scopes)
        return tuple(scope for scope in required if scope not in have)


def new_state() -> str:
    """A fresh, unguessable ``state`` for one authorization (the CSRF guard)."""
    return secrets.token_urlsafe(32)


def authorize_url(
    base_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str] = SCOPES,
    state: str,
    force_verify: bool = False,
) -> str:
    """Where to send the user to grant ``scopes`` (space-separated, ``%20``). ``force_verify``
    shows the consent page again even if granted, e.g. to sign in as a different (bot) account."""
    if not state:
        raise ValueError("an authorization needs a state")
    params = [
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", " ".join(scopes)),
        ("state", state),
    ]
    if force_verify:
        params.append(("force_verify", "true"))
    return f"{oauth_base(base_url)}/authorize?{urlencode(params, quote_via=quote)}"


def oauth_base(base_url: str) -> str:
    """``https://id.twitch.tv`` and ``https://id.twitch.tv/oauth2`` both mean the OAuth root."""
    base = base_url.rstrip("/")
    return base if base.endswith("/oauth2") else base + "/oauth2"


class TwitchOAuthClient(OAuthClient):
    """See :class:`~core.platforms.oauth.OAuthClient` for the constructor (``http``, ``clock``
    and the retries); a request that never left, or one safe to repeat, is made again, and so
    is one Twitch answered 429 or 5xx (a grant it did not take)."""

    oauth_root = staticmethod(oauth_base)

    async def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Trade the callback's ``code`` for a user token with a refresh token."""
        form = {"code": code, "grant_type": "authorization_code", "redirect_uri": redirect_uri}
        return await self._token_grant(form, secrets_in_play=(code,))

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token **and a new refresh token**: persist both, atomically, before using
        either; the old refresh token may stop working at once. :class:`InvalidGrant` when the
        grant is dead (the user must consent again)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._token_grant(form, secrets_in_play=(refresh_token,))

    async def validate(self, access_token: str) -> TokenValidation:
        """Twitch's view of a token; required at start and then hourly for every token in use.
        :class:`InvalidToken` on 401."""
        response = await self._request(
            "GET",
            "/validate",
            headers={"Authorization": f"OAuth {access_token}"},
            secrets_in_play=(access_token,),
            is_idempotent=True,
        )
        validation = parse_validation(_json(response), now=self._clock())
        if validation is None:
            raise TwitchOAuthError(200, "validate reply has no client_id or an unusable user_id")
        return validation

    async def revoke(self, token: str) -> None:
        """Revoke an access or refresh token (on "disconnect Twitch"). Twitch answers 400
        ("Invalid token") for one it does not know, raised as :class:`TwitchOAuthError`."""
        await self._request(
            "POST",
            "/revoke",
            data={"client_id": self._client_id, "token": token},
            secrets_in_play=(token,),
            is_idempotent=True,
        )

    async def _token_grant(
        self, form: dict[str, str], *, secrets_in_play: Sequence[str]
    ) -> TokenSet:
        response = await self._request(
            "POST",
            "/token",
            data=self._grant_form(form),
            secrets_in_play=secrets_in_play,
            is_idempotent=False,
        )
        now = self._clock()
        token_set = parse_token_set(_json(response), now=now)
        return usable_token_set(token_set, now=now, refuse=lambda m: TwitchOAuthError(200, m))

    async def _request(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets_in_play: Sequence[str],
        is_idempotent: bool,
    ) -> httpx.Response:
        def refusal(response: httpx.Response) -> Exception:
            status = response.status_code
            error = self._error(response, path, secrets_in_play)
            # A 429 or 5xx before the grant was taken leaves the code or refresh token unused.
            if status == 429 or status >= 500:
                return Retry(error, f"answered {status}", retry_after(response))
            return error

        return await self._send_with_retries(
            method,
            self._base_url + path,
            backoff=self._backoff,
            on_retry=self._backoff.logging_to(log, f"Twitch OAuth {method} {path}"),
            # Only the kind of failure when no answer came: the request may carry a token.
            unreachable=lambda no_answer: TwitchOAuthError(
                None, f"{method} {path}: {no_answer.problem}"
            ),
            refusal=refusal,
            is_idempotent=is_idempotent,
            data=data,
            headers={"Accept": "application/json", **(headers or {})},
        )

    def _error(
        self, response: httpx.Response, path: str, secrets_in_play: Sequence[str]
    ) -> TwitchOAuthError:
        fields = _json(response)
        fields = fields if isinstance(fields, dict) else {}
        message = (
            _text(fields.get("message"))
            or _text(fields.get("error"))
            or response.reason_phrase
            or f"HTTP {response.status_code}"
        )
        message = self._redact(message, secrets_in_play)[:_MAX_TEXT]
        status = response.status_code
        lowered = message.lower()
        kind: type[TwitchOAuthError] = TwitchOAuthError
        if path == "/validate" and status == 401:
            kind = InvalidToken
        elif path == "/token" and "client" in lowered and status in (400, 401, 403):
            kind = InvalidClient
        elif path == "/token" and status == 400:
            kind = InvalidGrant
        log.info("Twitch OAuth %s refused: %s (%s)", path, message, status)
        return kind(status, message)


def parse_token_set(body: Any, *, now: datetime) -> TokenSet | None:
    """A token reply, leniently: None without an access token; ``scope`` as Twitch's list (or a
    space-separated string); ``expires_in`` bounded (see :func:`lifetime`)."""
    return oauth.parse_token_set(
        body, now=now, scopes=_scopes, default_type="bearer", token_type_limit=20
    )


def parse_validation(body: Any, *, now: datetime) -> TokenValidation | None:
    """A ``/validate`` reply, leniently: None without a ``client_id``, or with a ``user_id``
    that is there but no id (over 64 characters, a NUL, a space, ...): a user the id columns
    cannot hold is no answer at all. The ``login`` is read as a name is (NULs dropped, lone
    surrogates replaced, at most 100 characters), as Helix's ``parse_user`` reads it."""
    if not isinstance(body, dict):
        return None
    client_id = _text(body.get("client_id"))
    if not client_id:
        return None
    try:
        user_id = checked_id(body.get("user_id"))
    except BadValue:
        return None
    return TokenValidation(
        client_id=client_id[:100],
        login=as_text(body.get("login"), NAME_MAX) or None,
        user_id=user_id,
        scopes=_scopes(body.get("scopes")),
        expires_at=now.astimezone(UTC) + timedelta(seconds=lifetime(body.get("expires_in"), 0)),
    )


def _scopes(value: Any) -> tuple[str, ...]:
    """Twitch's scopes: a list (validate, token replies) or a space-separated string."""
    if isinstance(value, str):
        value = value.split()
    return bounded_scopes(value) if isinstance(value, list) else ()


__all__ = [
    "DEFAULT_OAUTH_BASE_URL",
    "MAX_EXPIRES_IN_SECONDS",
    "SCOPES",
    "InvalidClient",
    "InvalidGrant",
    "InvalidToken",
    "TokenSet",
    "TokenValidation",
    "TwitchOAuthClient",
    "TwitchOAuthError",
    "authorize_url",
    "lifetime",
    "new_state",
    "oauth_base",
    "parse_token_set",
    "parse_validation",
]
