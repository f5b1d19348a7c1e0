"""How Kick's API says no: one exception per kind of refusal, made from an HTTP answer.

Messages never contain the token: a server that echoes it gets it blanked out.
"""

from __future__ import annotations

import httpx

from core.platforms.json_api import Unreachable
from core.platforms.lenient import as_mapping, as_text, parsed_json

MESSAGE_MAX = 300  # characters of Kick's own words kept in an error


class KickApiError(Exception):
    """Kick refused or failed a request. ``status`` is None when no HTTP answer came back;
    ``message`` is Kick's own ``message`` field when it sent one."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Kick API {status or 'unreachable'}: {message}")
        self.status = status
        self.message = message


class Unauthorized(KickApiError):
    """401: the token is invalid, expired or revoked. Refresh it once and retry."""


class Forbidden(KickApiError):
    """403: the token lacks a scope, or is the wrong kind (app vs user) for this endpoint."""


class NotFound(KickApiError):
    pass


class RateLimited(KickApiError):
    """429 after every retry, or a ``Retry-After`` longer than the client will wait."""

    def __init__(self, status: int | None, message: str, retry_after: float | None = None) -> None:
        super().__init__(status, message)
        self.retry_after = retry_after


class KickUnreachable(Unreachable, KickApiError):
    """No HTTP answer from Kick (``status`` is None); ``is_unsent``: see :class:`Unreachable`."""


def error_of(
    response: httpx.Response, token: str | None, retry_after: float | None
) -> KickApiError:
    status = response.status_code
    message = _message(response, token)
    if status == 401:
        return Unauthorized(status, message)
    if status == 403:
        return Forbidden(status, message)
    if status == 404:
        return NotFound(status, message)
    if status == 429:
        return RateLimited(status, message, retry_after)
    return KickApiError(status, message)


def _message(response: httpx.Response, token: str | None) -> str:
    """Kick's ``message`` (or OAuth-style ``error``), short, with the token blanked out in case
    a server ever echoes it."""
    try:
        body = parsed_json(response.content)
    except ValueError:
        body = None
    fields = as_mapping(body)
    message = (
        as_text(fields.get("message"))
        or as_text(fields.get("error_description"))
        or as_text(fields.get("error"))
        or response.reason_phrase
        or f"HTTP {response.status_code}"
    )
    return kicks_words(message, token)


def kicks_words(message: str, token: str | None) -> str:
    """Kick's own ``message``, as a :class:`KickApiError` keeps it: the token blanked out and
    at most :data:`MESSAGE_MAX` characters."""
    if token:
        message = message.replace(token, "[token]")
    return message[:MESSAGE_MAX]
