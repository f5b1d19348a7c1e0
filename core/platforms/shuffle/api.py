"""The Shuffle affiliate statistics endpoint over ``httpx``.

The affiliate URL is the secret: it carries the affiliate's API key (in its path or query), so
it is never logged and never appears in an exception message; :func:`mask_url` shows it safely.

Replies that are not data are never taken as data. Shuffle signals "slow down" three ways (HTTP
429, HTTP 400, and HTTP 200 with a ``TOO_MANY_REQUEST`` body) and Cloudflare may answer with a
challenge page (HTML, often 403 or 503) instead of Shuffle. Each of these is retried a few times
within one fetch (after ``Retry-After`` when the reply has one, else exponential backoff with
full jitter) and then raised as :class:`RateLimited` or :class:`ChallengePage`, for the caller
to back off across polls.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from urllib.parse import urlsplit

import httpx

from core.platforms.http import NoAnswer, Retry, ServiceClient, retry_after
from core.platforms.shuffle.payloads import NotStatistics, WagerRow, parse_statistics

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
TOTAL_TIMEOUT_SECONDS = 30.0
MAX_BODY_BYTES = 20 * 1024 * 1024
_CHALLENGE_MARKERS = (
    "cf-chl",
    "challenge-platform",
    "just a moment...",
    "attention required! | cloudflare",
    "cf-browser-verification",
    "__cf_chl_",
)
# Said with a 401, 403 (not a challenge) or 404: most likely a mistyped link, or a key replaced.
WRONG_LINK = (
    "the statistics link or its key may be wrong; copy it again from Shuffle's affiliate dashboard"
)


class ShuffleError(Exception):
    """The statistics could not be read. ``status`` is None when no HTTP answer came back.
    The message never holds the affiliate URL."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Shuffle {status or 'unreachable'}: {message}")
        self.status = status
        self.message = message


class _TryLater(ShuffleError):
    """An answer that says to come back later: ``retry_after`` is its ``Retry-After`` in
    seconds, None without one."""

    def __init__(self, status: int | None, message: str, retry_after: float | None = None):
        super().__init__(status, message)
        self.retry_after = retry_after


class RateLimited(_TryLater):
    """Shuffle asked us to slow down (429, 400, or 200 with ``TOO_MANY_REQUEST``)."""


class ChallengePage(_TryLater):
    """Cloudflare answered with a browser challenge instead of Shuffle's data."""


class ShuffleUnreachable(ShuffleError):
    """No usable answer: connection refused, timed out or dropped, or a 5xx."""


class ShuffleRefused(ShuffleError):
    """Any other failure (401, 403, 404, a redirect, a reply that is not a statistics list): most
    likely a wrong affiliate URL, which retrying right away will not fix."""


class ShuffleClient(ServiceClient):
    """``max_retries`` counts retries after the first attempt of a fetch; the backoff before
    retry ``n`` (from 0) is ``backoff_base * 2**n * jitter()`` seconds, or ``Retry-After``
    when the reply has one and it is at most ``max_retry_after``; a longer ``Retry-After``
    ends the fetch at once, leaving the wait to the caller."""

    timeout = TIMEOUT
    total_timeout_seconds = TOTAL_TIMEOUT_SECONDS
    default_backoff_base = 5.0
    default_max_retry_after = 60.0

    async def fetch_wagers(self, affiliate_url: str) -> list[WagerRow]:
        """Every row of the statistics reply, retried on rate limits and challenges."""
        where = mask_url(affiliate_url)

        async def attempt() -> list[WagerRow]:
            try:
                return await self._fetch_once(affiliate_url)
            except (RateLimited, ChallengePage, ShuffleUnreachable) as exc:
                raise Retry(exc, exc.message, getattr(exc, "retry_after", None)) from None

        def log_retry(retry: Retry, number: int, delay: float) -> None:
            log.warning(
                "Shuffle statistics %s: %s; retry %d of %d in %.1f s",
                where,
                retry.problem,
                number,
                self._backoff.max_retries,
                delay,
            )

        return await self._backoff.run(attempt, log_retry)

    async def _fetch_once(self, affiliate_url: str) -> list[WagerRow]:
        try:
            response = await self._send("GET", affiliate_url)
        except NoAnswer as exc:
            raise ShuffleUnreachable(None, exc.problem) from None
        except httpx.InvalidURL:
            raise ShuffleRefused(None, "the affiliate URL is not a valid URL") from None
        status = response.status_code
        body = response.content[:MAX_BODY_BYTES]
        wait = retry_after(response)
        if _is_challenge(response, body):
            raise ChallengePage(status, "Cloudflare answered with a challenge page", wait)
        if status in (400, 429):
            raise RateLimited(status, f"answered {status} (rate limited)", wait)
        if status >= 500:
            raise ShuffleUnreachable(status, f"answered {status}")
        if status in (401, 403, 404):
            raise ShuffleRefused(status, f"answered {status}: {WRONG_LINK}")
        if status != 200:
            raise ShuffleRefused(status, f"answered {status}")
        try:
            return parse_statistics(body)
        except NotStatistics as exc:
            if exc.is_rate_limit:
                raise RateLimited(status, "answered TOO_MANY_REQUEST", wait) from None
            raise ShuffleRefused(status, str(exc)) from None


# Where Shuffle's affiliate statistics live; SHUFFLE_ALLOWED_HOSTS replaces the list.
SHUFFLE_HOSTS = ("affiliate.shuffle.com", "shuffle.com")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_allowed_url(url: str, allowed_hosts: Collection[str]) -> bool:
    """Whether ``url`` is http(s) on one of ``allowed_hosts``: a ``host`` entry allows that host
    on its scheme's default port only, a ``host:port`` entry that one port. The bot fetches
    nothing else, so a guild's admin cannot make it probe other addresses."""
    if not is_printable_url(url):
        return False
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return False
    default_port = _DEFAULT_PORTS[parts.scheme]
    for entry in allowed_hosts:
        allowed_host, _, allowed_port = entry.strip().lower().rpartition(":")
        if not allowed_host or not allowed_port.isdigit():
            allowed_host, allowed_port = entry.strip().lower(), ""
        if host != allowed_host:
            continue
        if allowed_port and port == int(allowed_port):
            return True
        if not allowed_port and port in (None, default_port):
            return True
    return False


def is_printable_url(url: str) -> bool:
    """Whether ``url`` (its ends aside) is printable text. A lone surrogate cannot be encoded at
    all, and httpx refuses control characters such as NUL; zero-width and direction marks only
    hide what a link says. None of them belongs in a link pasted from Shuffle."""
    return url.strip().isprintable()


def mask_url(url: str) -> str:
    """The URL with its secret parts hidden, for messages: scheme and host, then a short
    fingerprint of the whole URL so that two different URLs can be told apart."""
    if not is_printable_url(url):
        return "(an unreadable URL)"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    fingerprint = hashlib.sha256(url.strip().encode()).hexdigest()[:6]
    hidden = "/…" if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{hidden} (key hidden, #{fingerprint})"


def _is_challenge(response: httpx.Response, body: bytes) -> bool:
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    content_type = response.headers.get("Content-Type", "").lower()
    looks_like_html = "html" in content_type or body.lstrip()[:1] == b"<"
    if not looks_like_html:
        return False
    head = body[:65536].decode("utf-8", "replace").lower()
    return any(marker in head for marker in _CHALLENGE_MARKERS)


__all__ = [
    "SHUFFLE_HOSTS",
    "ChallengePage",
    "RateLimited",
    "ShuffleClient",
    "ShuffleError",
    "ShuffleRefused",
    "ShuffleUnreachable",
    "WagerRow",
    "is_allowed_url",
    "is_printable_url",
    "mask_url",
]
