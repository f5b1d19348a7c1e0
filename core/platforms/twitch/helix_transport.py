"""The transport under :class:`~core.platforms.twitch.helix.HelixClient`: one request with
``Client-Id`` and the bearer token, Helix's error envelopes as typed errors, the retry rules
(see :mod:`core.platforms.twitch.helix`), ``Ratelimit-*`` headers, and cursor pagination.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from core.platforms.http import LONGEST_RETRY_AFTER_SECONDS, retry_after
from core.platforms.json_api import JsonApi, Unreachable
from core.platforms.lenient import as_mapping, as_str, parsed_json
from core.platforms.twitch.helix_limits import window_of
from core.platforms.twitch.helix_models import (
    RateLimit,
    next_cursor,
    parse_items,
    parse_rate_limit,
)
from core.ratelimits import MemoryWindows, Windows

log = logging.getLogger("core.platforms.twitch.helix")

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


class HelixUnreachable(Unreachable, HelixError):
    """No HTTP answer from Twitch (``status`` is None); ``is_unsent``: see :class:`Unreachable`."""


_ERRORS: dict[int, type[HelixError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    425: TooEarly,
}


class HelixTransport(JsonApi):
    """``base_url`` is Helix's root (``https://api.twitch.tv/helix``; a host alone gets
    ``/helix``). ``clock`` reads ``Ratelimit-Reset`` against now. ``rate_limit`` holds the last
    answer's ``Ratelimit-*`` headers. ``windows`` paces the requests Twitch limits per channel
    (``helix_limits.py``; every bot process's client shares the runtime's; without it, this
    client's own, on ``clock`` and ``sleep``). See :class:`~core.platforms.json_api.JsonApi`
    for the rest (``http``, retries; ``max_retry_after`` is 65 s here, past Helix's one-minute
    bucket)."""

    label = "Twitch Helix"
    retry_log = log
    error_type = HelixError
    unreachable_type = HelixUnreachable

    def __init__(
        self,
        base_url: str,
        client_id: str,
        *,
        max_retry_after: float = 65.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        windows: Windows | None = None,
        **options: Any,
    ) -> None:
        base = base_url.rstrip("/")
        base = base if base.endswith("/helix") else base + "/helix"
        super().__init__(base, max_retry_after=max_retry_after, **options)
        self._client_id = client_id
        self._clock = clock
        if windows is None:  # this client's own, on its clock and sleep
            sleep = options.get("sleep", asyncio.sleep)
            windows = MemoryWindows(lambda: clock().timestamp(), sleep)
        self._windows = windows
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

    async def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        """Each request actually sent, a retry's included: one that Twitch limits per channel
        takes a slot of its window first, re-stamped when its answer (or failure) lands."""
        path = url.removeprefix(self._base_url)
        window = window_of(method, path, options.get("params"), options.get("json"))
        if window is None:
            response = await super()._send(method, url, **options)
        else:
            async with self._windows.slot(*window):
                response = await super()._send(method, url, **options)
        self.rate_limit = parse_rate_limit(response.headers)
        return response

    def _headers(self) -> dict[str, str]:
        return {"Client-Id": self._client_id}

    def _refusal(
        self, response: httpx.Response, token: str | None, wait: float | None
    ) -> Exception:
        return _error(response, token, wait)

    def _wait_for_429(
        self, response: httpx.Response, endpoint_window: float | None
    ) -> float | None:
        """``Retry-After``; else, with the bucket empty, until ``Ratelimit-Reset`` (at most
        ``LONGEST_RETRY_AFTER_SECONDS``); else the endpoint's own window; else None (back off)."""
        limit = self.rate_limit
        if retry_after(response) is None and limit.remaining == 0 and limit.reset_at is not None:
            until_reset = (limit.reset_at - self._clock()).total_seconds()
            return min(max(0.0, until_reset), LONGEST_RETRY_AFTER_SECONDS)
        return super()._wait_for_429(response, endpoint_window)

    def _is_429_retried(self, is_429_final: bool) -> bool:
        """A final 429 (EventSub's cap of 3 subscriptions) is still waited for when the whole
        bucket is empty: that one is the shared limit, not the endpoint's."""
        return not is_429_final or self.rate_limit.remaining == 0


def _error(response: httpx.Response, token: str | None, wait: float | None) -> HelixError:
    """The typed error for a Helix envelope ``{"error", "status", "message"}``, with the token
    blanked out in case a server ever echoes it."""
    try:
        body = parsed_json(response.content)
    except ValueError:
        body = None
    fields = as_mapping(body)
    status = response.status_code
    message = (
        as_str(fields.get("message"), 300)
        or as_str(fields.get("error"), 300)
        or response.reason_phrase
        or f"HTTP {status}"
    )
    error = as_str(fields.get("error"), 100)
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
