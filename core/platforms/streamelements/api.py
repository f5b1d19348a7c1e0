"""The StreamElements loyalty points API over ``httpx`` (``/kappa/v2/points``).

The JWT is an account-wide secret: it travels only in the ``Authorization`` header, and no
message, exception or log line holds it. Replies are read leniently and bounded
(``core/platforms/lenient.py``): a body over :data:`MAX_BODY_BYTES`, not JSON, or without a
readable whole number is :class:`StreamElementsRefused`, never a crash (but for a change
StreamElements answered with a success: that one may have been applied, and is uncertain).

A balance change (``PUT /points/{channel}/{user}/{amount}``) is a blind delta, not a
compare-and-set, so it is sent again only when the request never left (connection refused).
When it may have reached StreamElements but no answer came back (a timeout, a dropped
connection, a 5xx, a success whose reply is not its new balance) it raises
:class:`StreamElementsUncertain`: the caller must not simply retry
(that could pay twice) but look at the balance or keep it for a person to check.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from core.platforms.http import NoAnswer, Retry, ServiceClient, retry_after
from core.platforms.lenient import as_int, as_mapping, parsed_json

log = logging.getLogger(__name__)

API_BASE = "https://api.streamelements.com/kappa/v2"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TOTAL_TIMEOUT_SECONDS = 20.0  # one attempt
# One call, its retries and their waits included: under the streamelements worker's time limit,
# so a payment StreamElements rate-limits for long is handed back as not done (tried again
# later), never cut off mid-wait and left in doubt.
CALL_BUDGET_SECONDS = TOTAL_TIMEOUT_SECONDS + 4
MAX_BODY_BYTES = 64 * 1024
MAX_DELTA = 10**12
CHANNEL_ID = re.compile(r"[0-9a-f]{24}")
USERNAME = re.compile(r"[a-z0-9_]{1,25}")


class StreamElementsError(Exception):
    """The call did not do its job. ``status`` is None when no HTTP answer came back. The
    message never holds the JWT."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"StreamElements {status or 'unreachable'}: {message}")
        self.status = status
        self.message = message


class StreamElementsUnreachable(StreamElementsError):
    """No usable answer (connection refused, timeout, 5xx, rate limit): nothing was changed."""


class StreamElementsUncertain(StreamElementsError):
    """A balance change may or may not have happened: it was sent and no clear answer came."""


class StreamElementsRefused(StreamElementsError):
    """A clear no (401/403: a wrong or expired JWT; 400; a reply that is not what was asked)."""


def checked_channel_id(value: str) -> str:
    """A StreamElements channel id: the 24 hexadecimal characters from the dashboard."""
    text = value.strip().lower()
    if not CHANNEL_ID.fullmatch(text):
        raise ValueError("a StreamElements channel id is 24 hexadecimal characters")
    return text


def checked_username(value: str) -> str:
    """A Twitch login as StreamElements keys points by: lowercase letters, digits, ``_``."""
    text = value.strip().lstrip("@").lower()
    if not USERNAME.fullmatch(text):
        raise ValueError("a StreamElements username is a Twitch login (a-z, 0-9, _)")
    return text


@dataclass(frozen=True)
class SeChannel:
    """The StreamElements channel a JWT is for (``GET /channels/me``): its 24-hex id, its
    name, and the account it belongs to on its platform (``provider``, as ``"twitch"``, and
    that platform's user id; empty when StreamElements did not say)."""

    channel_id: str
    username: str
    provider: str
    provider_id: str


class StreamElementsPoints(ServiceClient):
    timeout = TIMEOUT
    total_timeout_seconds = TOTAL_TIMEOUT_SECONDS
    budget_seconds = CALL_BUDGET_SECONDS
    default_backoff_base = 1.0
    default_max_retry_after = 30.0

    def __init__(self, *, base_url: str = API_BASE, **options: Any) -> None:
        """``options`` are :class:`~core.platforms.http.ServiceClient`'s (``http``, the backoff)."""
        super().__init__(**options)
        self.base_url = base_url.rstrip("/")

    def _url(self, channel_id: str, username: str, amount: int | None = None) -> str:
        path = f"/points/{checked_channel_id(channel_id)}/{quote(checked_username(username))}"
        return self.base_url + path + ("" if amount is None else f"/{amount}")

    async def balance(self, channel_id: str, jwt: str, username: str) -> int | None:
        """The viewer's points; None when StreamElements has never seen them (404)."""
        url = self._url(channel_id, username)

        async def attempt() -> int | None:
            try:
                response = await self._send("GET", url, headers=_auth(jwt))
            except NoAnswer as exc:
                raise Retry(StreamElementsUnreachable(None, exc.problem), exc.problem) from None
            if response.status_code == 404:
                return None
            _raise_for_status(response, retry=True)
            return _whole_number(response, "points")

        return await self._backoff.run(attempt, _log_retry)

    async def add(self, channel_id: str, jwt: str, username: str, amount: int) -> int:
        """Add ``amount`` (negative to take) to the viewer's points; their new balance."""
        if not -MAX_DELTA <= amount <= MAX_DELTA or amount == 0:
            raise ValueError("a points change is a non-zero whole number")
        url = self._url(channel_id, username, amount)

        async def attempt() -> int:
            try:
                response = await self._send("PUT", url, headers=_auth(jwt))
            except NoAnswer as exc:
                if exc.is_unsent:  # it never left: sending it again cannot pay twice
                    raise Retry(StreamElementsUnreachable(None, exc.problem), exc.problem) from None
                raise StreamElementsUncertain(None, exc.problem) from None
            if response.status_code in (429,) or response.status_code >= 500:
                # 429: not done (retry); 5xx: it may have been applied before the error.
                if response.status_code == 429:
                    error = StreamElementsUnreachable(429, "answered 429 (rate limited)")
                    raise Retry(error, error.message, retry_after(response))
                raise StreamElementsUncertain(
                    response.status_code, f"answered {response.status_code}"
                )
            if not 200 <= response.status_code < 300:
                _raise_for_status(response, retry=False)
            try:
                return _whole_number(response, "newAmount")
            except StreamElementsRefused as exc:  # it said yes, not what it did: maybe applied
                raise StreamElementsUncertain(response.status_code, exc.message) from None

        return await self._backoff.run(attempt, _log_retry)

    async def channel_of(self, jwt: str) -> SeChannel:
        """The channel the JWT is for, as StreamElements says (``GET /channels/me``)."""
        url = f"{self.base_url}/channels/me"

        async def attempt() -> SeChannel:
            try:
                response = await self._send("GET", url, headers=_auth(jwt))
            except NoAnswer as exc:
                raise Retry(StreamElementsUnreachable(None, exc.problem), exc.problem) from None
            _raise_for_status(response, retry=True)
            found = as_mapping(
                _json(response, max_bytes=MAX_BODY_BYTES, too_large="answered more than a channel")
            )
            channel_id = found.get("_id")
            if not isinstance(channel_id, str) or not CHANNEL_ID.fullmatch(channel_id):
                raise StreamElementsRefused(response.status_code, "answered no channel id")
            name, provider, provider_id = (
                _said(found.get(key)) for key in ("username", "provider", "providerId")
            )
            return SeChannel(channel_id, name, provider.lower(), provider_id)

        return await self._backoff.run(attempt, _log_retry)

    async def leaderboard_page(
        self, channel_id: str, jwt: str, *, limit: int, offset: int
    ) -> tuple[int, list[tuple[str, int]]]:
        """One page of the channel's points leaderboard (``GET /points/{channel}/top``): the
        number of viewers in all, and this page's ``(username, points)``, highest first.
        Entries without a readable name or a whole number of points are left out."""
        if not 0 < limit <= MAX_PAGE or offset < 0:
            raise ValueError(f"a page is 1 to {MAX_PAGE} entries from an offset of 0 or more")
        url = f"{self.base_url}/points/{checked_channel_id(channel_id)}/top"
        params = {"limit": str(limit), "offset": str(offset)}

        async def attempt() -> tuple[int, list[tuple[str, int]]]:
            try:
                response = await self._send("GET", url, headers=_auth(jwt), params=params)
            except NoAnswer as exc:
                raise Retry(StreamElementsUnreachable(None, exc.problem), exc.problem) from None
            _raise_for_status(response, retry=True)
            return _leaderboard(response)

        return await self._backoff.run(attempt, _log_retry)


MAX_PAGE = 1000
MAX_PAGE_BYTES = 1024 * 1024


def _json(response: httpx.Response, *, max_bytes: int, too_large: str) -> Any:
    """The reply's JSON; :class:`StreamElementsRefused` (saying ``too_large`` for a body over
    ``max_bytes``) when it cannot be read."""
    body = response.content
    if len(body) > max_bytes:
        raise StreamElementsRefused(response.status_code, too_large)
    try:
        return parsed_json(body)
    except ValueError:
        raise StreamElementsRefused(response.status_code, "answered something not JSON") from None


def _leaderboard(response: httpx.Response) -> tuple[int, list[tuple[str, int]]]:
    data = _json(response, max_bytes=MAX_PAGE_BYTES, too_large="answered a page too large to read")
    page = as_mapping(data)
    users = page.get("users")
    if not isinstance(users, list):
        raise StreamElementsRefused(response.status_code, "answered no 'users' list")
    entries: list[tuple[str, int]] = []
    for item in users:
        entry = as_mapping(item)
        name, points = entry.get("username"), as_int(entry.get("points"))
        if isinstance(name, str) and USERNAME.fullmatch(name.lower()) and points is not None:
            entries.append((name.lower(), points))
    total = as_int(page.get("_total"))
    return (len(entries) if total is None else total), entries


def _said(value: object) -> str:
    """A name or an id as a reply gave it (bounded), else ""."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)[:100]


def _auth(jwt: str) -> dict[str, str]:
    token = jwt.strip()
    if not token or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise StreamElementsRefused(None, "the JWT is empty or holds spaces")
    return {"Authorization": f"Bearer {token}"}


def _raise_for_status(response: httpx.Response, *, retry: bool) -> None:
    status = response.status_code
    if status == 200:
        return
    if retry and (status == 429 or status >= 500):
        error = StreamElementsUnreachable(status, f"answered {status}")
        raise Retry(error, error.message, retry_after(response))
    if status in (401, 403):
        raise StreamElementsRefused(
            status, "refused the JWT (wrong, expired or for another channel)"
        )
    raise StreamElementsRefused(status, f"answered {status}")


def _whole_number(response: httpx.Response, field: str) -> int:
    data = _json(response, max_bytes=MAX_BODY_BYTES, too_large="answered more than a balance")
    value = as_int(as_mapping(data).get(field))
    if value is None:
        raise StreamElementsRefused(response.status_code, f"answered no whole {field!r}")
    return value


def _log_retry(retry: Retry, number: int, delay: float) -> None:
    log.warning("StreamElements: %s; retry %d in %.1f s", retry.problem, number, delay)
