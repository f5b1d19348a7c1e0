"""What Kick's and Twitch's OAuth clients share (each platform's ``oauth_client.py``): the time
limits, reading a token reply into a :class:`~core.platforms.tokens.TokenSet` with a bounded
lifetime, refusing a reply no token can be used from, and keeping secrets out of error text.

Each client keeps its own endpoints, grants, errors and retry rules; :class:`OAuthClient` holds
only what they set up and do the same way.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.platforms.http import Backoff, HttpClient
from core.platforms.lenient import clean_text, parsed_json
from core.platforms.tokens import TokenSet

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TOTAL_TIMEOUT_SECONDS = 15.0
DEFAULT_EXPIRES_IN_SECONDS = 3600  # when a token reply leaves expires_in out
# User tokens live hours and app tokens about two months; a longer claim is cut to this, so a
# wild value (1e12) can neither overflow a datetime nor keep a token "fresh" forever.
MAX_EXPIRES_IN_SECONDS = 365 * 24 * 3600
REDACTED = "[redacted]"
# A sign-in's callback waits for the code exchange in the viewer's or streamer's browser: a
# Retry-After longer than this is not waited for, and a call with its retries takes at most
# BUDGET_SECONDS (the token refresh in the background tries again on its next round).
MAX_RETRY_AFTER_SECONDS = 5.0
BUDGET_SECONDS = 30.0


class OAuthClient(HttpClient):
    """The part of an OAuth client that is the same on both platforms: its own HTTP client (see
    :class:`~core.platforms.http.HttpClient`), the client's id and secret, the clock that expiry
    times count from, its retries, the app token (client credentials) and the form every grant
    sends. ``base_url`` names the OAuth root (see :meth:`oauth_root`). ``clock`` gives the aware
    "now" that expiry times count from. ``http`` is closed by :meth:`aclose` only when the
    client made it itself. The retries (``max_retries`` and the rest) are :class:`Backoff`'s,
    within BUDGET_SECONDS; which requests may be made again is each client's own rule."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_retries: int = 3,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
    ) -> None:
        super().__init__(http, total_timeout_seconds=TOTAL_TIMEOUT_SECONDS, timeout=TIMEOUT)
        self._base_url = self.oauth_root(base_url)
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._backoff = Backoff(
            max_retries,
            backoff_base,
            max_retry_after,
            sleep,
            jitter,
            budget_seconds=BUDGET_SECONDS,
            attempt_seconds=TOTAL_TIMEOUT_SECONDS,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base_url!r}, client_id={self._client_id!r})"

    @staticmethod
    def oauth_root(base_url: str) -> str:
        """The OAuth root that ``base_url`` names: here, itself without a trailing slash."""
        return base_url.rstrip("/")

    async def app_token(self) -> TokenSet:
        """An app access token (client credentials): no user and no refresh token; a new one is
        minted when it dies."""
        return await self._token_grant({"grant_type": "client_credentials"}, secrets_in_play=())

    async def _token_grant(
        self, form: dict[str, str], *, secrets_in_play: Sequence[str]
    ) -> TokenSet:
        raise NotImplementedError

    def _grant_form(self, form: Mapping[str, str]) -> dict[str, str]:
        """``form`` with the client's id and secret, as every token grant sends them."""
        return {**form, "client_id": self._client_id, "client_secret": self._client_secret}

    def _redact(self, text: str, secrets_in_play: Iterable[str]) -> str:
        """``text`` with every secret of the request, and the client secret, blanked out."""
        return redact(text, (*secrets_in_play, self._client_secret))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each non-empty secret replaced by ``[redacted]``, for error text that may
    echo what was sent."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def parse_token_set(
    body: Any,
    *,
    now: datetime,
    scopes: Callable[[Any], tuple[str, ...]],
    default_type: str,
    token_type_limit: int | None = None,
) -> TokenSet | None:
    """A token reply, leniently: None without an access token (one :func:`token_text` takes;
    a refresh token it does not take is none); ``scopes`` reads the reply's
    ``scope`` in the platform's way; ``expires_in`` is bounded (see :func:`lifetime`); the token
    type, or ``default_type``, is cut to ``token_type_limit`` when there is one."""
    if not isinstance(body, dict):
        return None
    access_token = token_text(body.get("access_token"))
    if not access_token:
        return None
    return TokenSet(
        access_token=access_token,
        refresh_token=token_text(body.get("refresh_token")),
        expires_at=now.astimezone(UTC) + timedelta(seconds=lifetime(body.get("expires_in"))),
        scopes=scopes(body.get("scope")),
        token_type=(nonempty_text(body.get("token_type")) or default_type)[:token_type_limit],
    )


def usable_token_set(
    token_set: TokenSet | None, *, now: datetime, refuse: Callable[[str], Exception]
) -> TokenSet:
    """``token_set`` when it has an access token that outlives ``now``; else raises what
    ``refuse`` makes of the reason (the platform's own OAuth error)."""
    if token_set is None:
        raise refuse("token reply has no access_token")
    if token_set.expires_at <= now:
        raise refuse("token reply has an unusable expires_in")
    return token_set


def lifetime(expires_in: Any, default: float = DEFAULT_EXPIRES_IN_SECONDS) -> float:
    """Seconds a token lives: absent means ``default``, beyond a year means a year; zero,
    negative, NaN or not a number means 0 (a token reply is then refused)."""
    if expires_in is None:
        return default
    if isinstance(expires_in, str):
        try:
            expires_in = float(expires_in.strip())
        except ValueError:
            return 0
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return 0
    if isinstance(expires_in, float) and not math.isfinite(expires_in):
        # inf is as absurd as 1e12; NaN says nothing at all. (An int is finite, and one past a
        # float's range, 10**400, is no float: isfinite() would raise OverflowError.)
        return MAX_EXPIRES_IN_SECONDS if expires_in > 0 else 0
    return max(0, min(expires_in, MAX_EXPIRES_IN_SECONDS))


def json_or_none(response: httpx.Response) -> Any:
    """The reply's JSON; None when it is not JSON (an error page, say)."""
    try:
        return parsed_json(response.content)
    except ValueError:
        return None


def nonempty_text(value: Any) -> str | None:
    """The text in ``value`` as it can be stored and shown (NULs dropped, lone surrogates
    replaced: see :func:`~core.platforms.lenient.clean_text`); None when there is none."""
    return (clean_text(value, len(value)) or None) if isinstance(value, str) else None


def token_text(value: Any) -> str | None:
    """The token in ``value``: printable ASCII without spaces, as an ``Authorization`` header
    carries it (httpx sends no other) and as it is stored; None for anything else (a lone
    surrogate, a NUL, "é"), which no later request could send."""
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        return None
    return value if value and " " not in value else None


__all__ = [
    "DEFAULT_EXPIRES_IN_SECONDS",
    "MAX_EXPIRES_IN_SECONDS",
    "TIMEOUT",
    "TOTAL_TIMEOUT_SECONDS",
    "OAuthClient",
    "json_or_none",
    "lifetime",
    "nonempty_text",
    "parse_token_set",
    "redact",
    "token_text",
    "usable_token_set",
]
