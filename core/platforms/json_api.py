"""What Kick's API transport and Twitch's Helix transport share (``kick/api_transport.py``,
``twitch/helix_transport.py``): a JSON API behind a bearer token, its time limits, and when a
request is tried again.

Retries: a 429 is retried (after the wait it asks for, else exponential backoff with full
jitter) unless the request calls it final, and so is a failure to connect, since nothing reached
the platform. A 5xx, a timeout or a dropped connection is retried only for requests that are
safe to repeat (``is_idempotent``).

Each platform keeps its own errors, its headers and how it reads a refusal; :class:`JsonApi`
holds only the request and the rules above.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx

from core.platforms.http import Backoff, HttpClient, ReplyTooLarge, Retry, retry_after
from core.platforms.lenient import parsed_json

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TOTAL_TIMEOUT_SECONDS = 15.0

Params = Mapping[str, Any] | Sequence[tuple[str, str]]


class Unreachable(Exception):
    """No HTTP answer: connection refused, timed out or dropped (``status`` is None).
    ``is_unsent`` when the request never left (no connection): the platform cannot have acted on
    it; otherwise it may have. Mixed into a platform's own error, ahead of it
    (``class KickUnreachable(Unreachable, KickApiError)``), which takes ``(status, message)``."""

    def __init__(self, status: int | None, message: str, *, is_unsent: bool = False) -> None:
        super().__init__(status, message)
        self.is_unsent = is_unsent


class JsonApi(HttpClient):
    """``base_url`` is the API's root (a trailing slash is dropped). ``max_retries``
    counts retries after the first attempt; the backoff before retry ``n`` (from 0) is
    ``backoff_base * 2**n * jitter()`` seconds, ``jitter`` returning a float in [0, 1).
    ``max_retry_after`` is the longest wait (seconds) worth making for a 429; beyond it the
    error is raised at once. ``http`` is closed by :meth:`aclose` only when made here.

    A platform's subclass names itself (``label`` starts its retry warnings on ``retry_log``),
    its errors (``error_type(status, message)``, and ``unreachable_type``, its
    :class:`Unreachable`) and how it reads a refusal (:meth:`_refusal`)."""

    label: ClassVar[str]
    retry_log: ClassVar[logging.Logger]
    error_type: ClassVar[Callable[[int, str], Exception]]
    unreachable_type: ClassVar[type[Unreachable]]

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        max_retry_after: float = 60.0,
    ) -> None:
        super().__init__(http, total_timeout_seconds=TOTAL_TIMEOUT_SECONDS, timeout=TIMEOUT)
        self._base_url = base_url.rstrip("/")
        self._backoff = Backoff(
            max_retries,
            backoff_base,
            max_retry_after,
            sleep,
            jitter,
            attempt_seconds=TOTAL_TIMEOUT_SECONDS,  # an attempt's most: no retry cut off
        )

    async def _json(self, method: str, path: str, token: str | None, **options: Any) -> Any:
        """The reply's JSON body (see :meth:`_request` for ``options``)."""
        response = await self._request(method, path, token, **options)
        try:
            return parsed_json(response.content)
        except ValueError:
            raise self.error_type(response.status_code, "the reply is not JSON") from None

    async def _request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Params | None = None,
        json_body: Any = None,
        is_idempotent: bool = True,
        is_429_final: bool = False,
        endpoint_window: float | None = None,
        max_body_bytes: int | None = None,
    ) -> httpx.Response:
        """``path`` with ``token`` as the bearer (none when None). ``endpoint_window`` is how
        long a 429 that names no wait waits (an endpoint's own limit); ``is_429_final`` raises
        a 429 at once (see :meth:`_is_429_retried`). ``max_body_bytes``: a longer reply is
        the platform's error, read no further."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(self._headers())

        def refusal(response: httpx.Response) -> Exception:
            status = response.status_code
            if status == 429:
                wait = self._wait_for_429(response, endpoint_window)
            else:
                wait = retry_after(response)
            error = self._refusal(response, token, wait)
            if status == 429 and self._is_429_retried(is_429_final):
                return Retry(error, "answered 429", wait)
            if status >= 500 and is_idempotent:
                return Retry(error, f"answered {status}", wait)
            return error

        bounded = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
        try:
            return await self._send_with_retries(
                method,
                self._base_url + path,
                backoff=self._backoff,
                on_retry=self._backoff.logging_to(self.retry_log, f"{self.label} {method} {path}"),
                unreachable=lambda no_answer: self.unreachable_type(
                    None, f"{method} {path}: {no_answer.problem}", is_unsent=no_answer.is_unsent
                ),
                refusal=refusal,
                is_idempotent=is_idempotent,
                params=params,
                json=json_body,
                headers=headers,
                **bounded,
            )
        except ReplyTooLarge as exc:
            raise self.error_type(exc.status, str(exc)) from None

    def _headers(self) -> dict[str, str]:
        """Headers every request carries besides ``Accept`` and the token."""
        return {}

    def _refusal(
        self, response: httpx.Response, token: str | None, wait: float | None
    ) -> Exception:
        """The platform's error for an answer of 400 or more; ``wait`` is how long a 429 asks
        to wait (None when unknown). Messages must not contain ``token``."""
        raise NotImplementedError

    def _wait_for_429(
        self, response: httpx.Response, endpoint_window: float | None
    ) -> float | None:
        """How long a 429 asks to wait: ``Retry-After``; else the endpoint's own window; else
        None (back off)."""
        header = retry_after(response)
        return header if header is not None else endpoint_window

    def _is_429_retried(self, is_429_final: bool) -> bool:
        return not is_429_final


__all__ = ["TIMEOUT", "TOTAL_TIMEOUT_SECONDS", "JsonApi", "Unreachable"]
