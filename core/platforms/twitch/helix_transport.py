"""The transport under :class:`~core.platforms.twitch.helix.HelixClient`: one request with
``Client-Id`` and the bearer token, Helix's error envelopes as typed errors, the retry rules
(see :mod:`core.platforms.twitch.helix`), ``Ratelimit-*`` headers, and cursor pagination.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from core.platforms.http import Backoff, HttpClient, Retry, retry_after
from core.platforms.twitch.helix_models import (
    RateLimit,
    as_mapping,
    as_text,
    next_cursor,
    parse_items,
    parse_rate_limit,
)

log = logging.getLogger("core.platforms.twitch.helix")

T = TypeVar("T")
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TOTAL_TIMEOUT_SECONDS = 15.0
MAX_PAGES = 100


class HelixError(Exception):
    """Helix refused or failed a request. ``status`` is None when no HTTP answer came back;
    ``error`` and ``message`` are the envelope's fields (``message`` for people, not code)."""

    def __init__(self, status: int | None, message: str, error: str = "") -> None:
        super().__init__(f"Twitch Helix {status or 'unreachable'}: {message}")
        self.status = status
        self.message = message
        self.error = error


class BadRequest(HelixError):
    """400: bad parameters; for Add VIP also "the user is blocked from the channel", for a
    reward a duplicate title or 50 rewards already, for EventSub the wrong token kind for the
    transport."""


class Unauthorized(HelixError):
    """401: the token is invalid or expired, lacks the scope, or belongs to another client id.
    Refresh once and retry; if it happens again, validate the token's scopes."""


class Forbidden(HelixError):
    """403: the token's user may not do this here (``broadcaster_id`` is not the token's user,
    not affiliate/partner, or a reward created by another client id: only rewards created with
    our client id can be updated, deleted or have their redemptions changed)."""


class NotFound(HelixError):
    """404: unknown user, reward or subscription, or no UNFULFILLED redemption to change."""


class Conflict(HelixError):
    """409: Add VIP with no free VIP slot; an identical EventSub subscription already exists."""


class Unprocessable(HelixError):
    """422: Add VIP to a moderator or someone already VIP; Remove VIP of someone who is not
    (treat as done); a chat message too large."""


class TooEarly(HelixError):
    """425: the channel has not completed the "Build a Community" achievement (no VIPs yet)."""


class RateLimited(HelixError):
    """429 after every retry, a wait longer than the client will make (``retry_after`` seconds,
    None when unknown), or EventSub's cap of 3 subscriptions per type and condition."""

    def __init__(
        self, status: int | None, message: str, error: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(status, message, error)
        self.retry_after = retry_after


class HelixUnreachable(HelixError):
    """No HTTP answer: connection refused, timed out or dropped (``status`` is None).
    ``is_unsent`` when the request never left (no connection): Twitch cannot have acted on it;
    otherwise it may have."""

    def __init__(self, status: int | None, message: str, *, is_unsent: bool = False) -> None:
        super().__init__(status, message)
        self.is_unsent = is_unsent


_ERRORS: dict[int, type[HelixError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    425: TooEarly,
}


class HelixTransport(HttpClient):
    """``base_url`` is Helix's root (``https://api.twitch.tv/helix``; a host alone gets
    ``/helix``). ``clock`` reads ``Ratelimit-Reset`` against now. ``max_retries`` counts
    retries after the first attempt; the backoff before retry ``n`` is
    ``backoff_base * 2**n * jitter()`` seconds. ``rate_limit`` holds the last answer's
    ``Ratelimit-*`` headers. ``http`` is closed by :meth:`aclose` only when made here."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        *,
        http: httpx.AsyncClient | None = None,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        max_retry_after: float = 65.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(http, total_timeout_seconds=TOTAL_TIMEOUT_SECONDS, timeout=TIMEOUT)
        base = base_url.rstrip("/")
        self._base_url = base if base.endswith("/helix") else base + "/helix"
        self._client_id = client_id
        self._clock = clock
        self._backoff = Backoff(max_retries, backoff_base, max_retry_after, sleep, jitter)
        self.rate_limit = RateLimit(None, None, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base_url!r}, client_id={self._client_id!r})"

    async def _pages(
        self,
        path: str,
        token: str,
        params: Sequence[tuple[str, str]],
        parse: Callable[[Mapping[str, Any]], Any],
    ) -> AsyncIterator[Any]:
        """Yield the parsed items of every page, following ``pagination.cursor`` as ``after``."""
        query = list(params)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            reply = await self._json("GET", path, token, params=query)
            for item in parse_items(reply, parse):
                yield item
            cursor = next_cursor(reply)
            if not cursor or cursor in seen:  # a repeated cursor would loop forever
                return
            seen.add(cursor)
            query = [*params, ("after", cursor)]

    async def _json(self, method: str, path: str, token: str, **options: Any) -> Any:
        response = await self._request(method, path, token, **options)
        try:
            return response.json()
        except ValueError:
            raise HelixError(response.status_code, "the reply is not JSON") from None

    async def _request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        is_idempotent: bool = True,
        is_429_final: bool = False,
        endpoint_window: float | None = None,
    ) -> httpx.Response:
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
            "Client-Id": self._client_id,
        }

        async def attempt() -> httpx.Response:
            response = await self._send_or_retry(
                method,
                self._base_url + path,
                unreachable=lambda no_answer: HelixUnreachable(
                    None, f"{method} {path}: {no_answer.problem}", is_unsent=no_answer.is_unsent
                ),
                is_idempotent=is_idempotent,
                params=params,
                json=json_body,
                headers=headers,
            )
            self.rate_limit = parse_rate_limit(response.headers)
            status = response.status_code
            if status < 400:
                return response
            wait = self._wait_for(response, endpoint_window) if status == 429 else None
            error = _error(response, token, wait)
            if status == 429 and not (is_429_final and self.rate_limit.remaining != 0):
                raise Retry(error, "answered 429", wait)
            if status >= 500 and is_idempotent:
                raise Retry(error, f"answered {status}", retry_after(response))
            raise error

        log_retry = self._backoff.logging_to(log, f"Twitch Helix {method} {path}")
        return await self._backoff.run(attempt, log_retry)

    def _wait_for(self, response: httpx.Response, endpoint_window: float | None) -> float | None:
        """How long a 429 asks to wait: ``Retry-After``; else, with the bucket empty, until
        ``Ratelimit-Reset``; else the endpoint's own window; else None (back off)."""
        header = retry_after(response)
        if header is not None:
            return header
        if self.rate_limit.remaining == 0 and self.rate_limit.reset_at is not None:
            return max(0.0, (self.rate_limit.reset_at - self._clock()).total_seconds())
        return endpoint_window


def _error(response: httpx.Response, token: str, wait: float | None) -> HelixError:
    """The typed error for a Helix envelope ``{"error", "status", "message"}``, with the token
    blanked out in case a server ever echoes it."""
    try:
        body = response.json()
    except ValueError:
        body = None
    fields = as_mapping(body)
    status = response.status_code
    message = (
        as_text(fields.get("message"), 300)
        or as_text(fields.get("error"), 300)
        or response.reason_phrase
        or f"HTTP {status}"
    )
    error = as_text(fields.get("error"), 100)
    if token:
        message, error = message.replace(token, "[token]"), error.replace(token, "[token]")
    if status == 429:
        return RateLimited(status, message, error, wait)
    if status >= 500:
        return HelixError(status, message, error)
    return _ERRORS.get(status, HelixError)(status, message, error)


__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "HelixError",
    "HelixTransport",
    "HelixUnreachable",
    "NotFound",
    "RateLimited",
    "TooEarly",
    "Unauthorized",
    "Unprocessable",
]
