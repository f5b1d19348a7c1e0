"""How :class:`~core.platforms.kick.api.KickApi` talks to Kick: one shared ``httpx.AsyncClient``,
the bearer token of the caller's choice, Kick's ``{"data": ...}`` envelope, typed errors
(:mod:`core.platforms.kick.api_errors`) and the retries.

Retries: 429 is always retried (after ``Retry-After`` seconds when Kick sends one, else
exponential backoff with full jitter), and so is a failure to connect, since nothing reached Kick.
A 5xx, a timeout or a dropped connection is retried only for requests that are safe to repeat
(``is_idempotent``). No exception message ever contains the token.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from core.platforms.http import Backoff, HttpClient, Retry, retry_after
from core.platforms.kick.api_errors import KickApiError, KickUnreachable, error_of
from core.platforms.kick.api_models import reply_data

# The retry warnings keep the logger they always had: the API's.
log = logging.getLogger("core.platforms.kick.api")

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TOTAL_TIMEOUT_SECONDS = 15.0


class KickTransport(HttpClient):
    """``max_retries`` counts retries after the first attempt; the backoff before retry ``n``
    (from 0) is ``backoff_base * 2**n * jitter()`` seconds, ``jitter`` returning a float in
    [0, 1). ``max_retry_after`` is the longest ``Retry-After`` (seconds) worth waiting for;
    beyond it the error is raised at once. ``http`` is closed by :meth:`aclose` only when the
    client made it itself."""

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
        self._backoff = Backoff(max_retries, backoff_base, max_retry_after, sleep, jitter)

    async def _get(
        self, token: str | None, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Any:
        return reply_data(await self._body("GET", path, token, params=params))

    async def _body(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        is_idempotent: bool = True,
    ) -> Any:
        response = await self._request(
            method, path, token, params=params, json_body=json_body, is_idempotent=is_idempotent
        )
        try:
            return response.json()
        except ValueError:
            raise KickApiError(response.status_code, "the reply is not JSON") from None

    async def _request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        is_idempotent: bool = True,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"

        async def attempt() -> httpx.Response:
            response = await self._send_or_retry(
                method,
                self._base_url + path,
                unreachable=lambda no_answer: KickUnreachable(
                    None, f"{method} {path}: {no_answer.problem}", is_unsent=no_answer.is_unsent
                ),
                is_idempotent=is_idempotent,
                params=params,
                json=json_body,
                headers=headers,
            )
            status = response.status_code
            if status < 400:
                return response
            wait = retry_after(response)
            error = error_of(response, token, wait)
            if status == 429 or (status >= 500 and is_idempotent):
                raise Retry(error, f"answered {status}", wait)
            raise error

        log_retry = self._backoff.logging_to(log, f"Kick API {method} {path}")
        return await self._backoff.run(attempt, log_retry)
