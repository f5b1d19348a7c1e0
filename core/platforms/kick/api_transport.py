"""How :class:`~core.platforms.kick.api.KickApi` talks to Kick: the shared JSON API transport
(:class:`~core.platforms.json_api.JsonApi`: one ``httpx.AsyncClient``, the bearer token of the
caller's choice, the retries) with Kick's ``{"data": ...}`` envelope and typed errors
(:mod:`core.platforms.kick.api_errors`).

Retries: 429 is always retried (after ``Retry-After`` seconds when Kick sends one, else
exponential backoff with full jitter), and so is a failure to connect, since nothing reached Kick.
A 5xx, a timeout or a dropped connection is retried only for requests that are safe to repeat
(``is_idempotent``). No exception message ever contains the token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from core.platforms.json_api import JsonApi
from core.platforms.kick.api_errors import KickApiError, KickUnreachable, error_of
from core.platforms.kick.api_models import reply_data


class KickTransport(JsonApi):
    """See :class:`~core.platforms.json_api.JsonApi` for the constructor (base URL, ``http``,
    retries)."""

    label = "Kick API"
    # The retry warnings keep the logger they always had: the API's.
    retry_log = logging.getLogger("core.platforms.kick.api")
    error_type = KickApiError
    unreachable_type = KickUnreachable

    async def _get(
        self, token: str | None, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Any:
        return reply_data(await self._body("GET", path, token, params=params))

    # KickApi's name for the JSON body of a reply.
    _body = JsonApi._json

    def _refusal(
        self, response: httpx.Response, token: str | None, wait: float | None
    ) -> Exception:
        return error_of(response, token, wait)


__all__ = ["KickTransport"]
