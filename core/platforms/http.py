"""What every outbound HTTP client shares: one ``httpx.AsyncClient`` (made or borrowed), a total
time limit per request, and retries with exponential backoff, full jitter and ``Retry-After``.

Each client keeps its own errors: :class:`NoAnswer` and :class:`Retry` only travel between a
client and this module, and the client turns them into the exceptions its callers know.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

import httpx

from core.outbox import deadline, sending
from core.platforms.bounded_body import ACCEPT, BoundedBody, TooLarge, Unreadable

T = TypeVar("T")

# Nothing was sent when these happen, so any request may be tried again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})  # requests that change nothing at the partner
# A partner's wait is read as this long at most: a billion seconds would put a caller off for
# decades (and past the year 9999 no date can say when). An outbox call waits an hour at most
# (``core/outbox/waits.py``).
LONGEST_RETRY_AFTER_SECONDS = 86_400.0


class NoAnswer(Exception):
    """No HTTP answer came back. ``problem`` names only the kind of failure (the request, and its
    URL, may carry a secret); ``is_unsent`` when the request never left, so repeating it is
    always safe."""

    def __init__(self, problem: str, kind: str, *, is_unsent: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.kind = kind
        self.is_unsent = is_unsent


class FateUnknown(str):
    """Why a call stopped when the service may have acted on it all the same (it got the request
    but no answer came back): the caller must not make it again. A chat sender's
    ``deliver_now`` returns one (``core/features/chat_commands/ports.py``)."""


class TryLater(str):
    """Why a call stopped when nothing of it was done and the partner only asked for time (a
    rate limit, no connection): the caller may make it again later, after ``retry_after``
    seconds when the partner said (None: when the caller sees fit). A chat sender's
    ``deliver_now`` returns one when no part of the message went out."""

    retry_after: float | None

    def __new__(cls, reason: str, retry_after: float | None = None) -> TryLater:
        made = super().__new__(cls, reason)
        made.retry_after = retry_after
        return made


class ReplyTooLarge(Exception):
    """An answer's body ran past the ``max_body_bytes`` its request allowed; no more of it
    was read."""

    def __init__(self, status: int, max_bytes: int) -> None:
        super().__init__(f"the reply is over {max_bytes:,} bytes")
        self.status = status
        self.max_bytes = max_bytes


class Retry(Exception):
    """Raised by an attempt that may be tried again; ``error`` is what to raise when no retry is
    left, ``problem`` what to log, ``retry_after`` the server's ``Retry-After`` in seconds."""

    def __init__(self, error: Exception, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.error = error
        self.problem = problem
        self.retry_after = retry_after


@dataclass
class Backoff:
    """``max_retries`` counts retries after the first attempt; the wait before retry ``n`` (from
    0) is ``base * 2**n * jitter()`` seconds, ``jitter`` returning a float in [0, 1), or the
    server's ``Retry-After``. A ``Retry-After`` longer than ``max_retry_after`` is not waited
    for: the error is raised at once, leaving the wait to the caller.

    ``budget_seconds``: the whole call's time, waits and attempts together (an outbox worker's
    time limit, less a margin). A retry is made only if its wait and a whole attempt of
    ``attempt_seconds`` still fit; otherwise the error is raised at once, so the caller hears
    "not done, try later" rather than being cut off mid-wait with nothing known."""

    max_retries: int
    base: float
    max_retry_after: float
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    jitter: Callable[[], float] = random.random
    budget_seconds: float | None = None
    attempt_seconds: float = 0.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.max_retries = max(0, self.max_retries)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return self.base * 2**attempt * self.jitter()

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        on_retry: Callable[[Retry, int, float], object],
    ) -> T:
        """``attempt()`` until it returns, raises anything but :class:`Retry`, or runs out of
        retries (then the :class:`Retry`'s ``error`` is raised). ``on_retry(retry, number,
        delay)`` is called before each wait, ``number`` counting from 1, to log it."""
        number, started = 0, self.clock()
        while True:
            try:
                return await attempt()
            except Retry as retry:
                waits_too_long = (retry.retry_after or 0.0) > self.max_retry_after
                if number >= self.max_retries or waits_too_long:
                    raise retry.error from None
                delay = self.delay(number, retry.retry_after)
                if self.budget_seconds is not None:
                    needed = self.clock() - started + delay + self.attempt_seconds
                    if needed > self.budget_seconds:
                        raise retry.error from None
                if not deadline.allows(delay, self.attempt_seconds):  # an outbox call's time
                    raise retry.error from None
                on_retry(retry, number + 1, delay)
                await self.sleep(delay)
            number += 1

    def logging_to(self, log: logging.Logger, what: str) -> Callable[[Retry, int, float], None]:
        """An ``on_retry`` for :meth:`run` that warns on ``log``: "<what> <problem>; retry n of
        m in d s" (``what`` names the client and the request, never its secrets)."""

        def log_retry(retry: Retry, number: int, delay: float) -> None:
            log.warning(
                "%s %s; retry %d of %d in %.2f s",
                what,
                retry.problem,
                number,
                self.max_retries,
                delay,
            )

        return log_retry


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every client of this process shares: the one httpx builds by
    default (``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else certifi's roots). Building one costs
    ~25 ms of CPU, which a client of its own would pay each time it is made."""
    return httpx.create_ssl_context()


class HttpClient:
    """The lifecycle of one ``httpx.AsyncClient``: ``http`` when given (the caller closes it),
    else one made from ``client_options`` at the first request and closed by :meth:`aclose`
    (a client costs ~20 ms, its TLS context: a process that never calls a service pays
    nothing for it). Every request gets ``total_timeout_seconds`` in all, on top of httpx's own
    per-phase timeouts."""

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        *,
        total_timeout_seconds: float,
        **client_options: Any,
    ) -> None:
        self._owns_http = http is None
        self._client = http
        self._client_options = client_options
        self._is_closed = False
        self._total_timeout_seconds = total_timeout_seconds

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            if self._is_closed:
                raise RuntimeError("this client is closed")  # as httpx says for its own
            self._client = httpx.AsyncClient(**{"verify": tls_context(), **self._client_options})
        return self._client

    async def aclose(self) -> None:
        self._is_closed = True
        if self._owns_http and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(
        self, method: str, url: str, *, max_body_bytes: int | None = None, **options: Any
    ) -> httpx.Response:
        """One request; raises :class:`NoAnswer` when no HTTP answer came back or its body
        cannot be decoded, and :class:`ReplyTooLarge` when ``max_body_bytes`` is given and the
        body (decoded) runs past it. One that may change something at the partner says so to
        the outbox call it is part of first (``core/outbox/sending.py``), which may keep it
        from leaving."""
        if method.upper() not in _READS:
            await sending.going_out()
        try:
            async with asyncio.timeout(self._total_timeout_seconds):
                if max_body_bytes is None:
                    return await self._http.request(method, url, **options)
                return await self._bounded(method, url, max_body_bytes, **options)
        except _NOT_SENT as exc:
            kind = type(exc).__name__
            raise NoAnswer(f"could not connect ({kind})", kind, is_unsent=True) from None
        except (httpx.TransportError, TimeoutError) as exc:
            kind = type(exc).__name__
            raise NoAnswer(f"got no answer ({kind})", kind, is_unsent=False) from None
        except httpx.DecodingError:
            # A body httpx cannot decode (a "gzip" one that is not): no more use than none.
            kind = "DecodingError"
            raise NoAnswer(f"got no readable answer ({kind})", kind, is_unsent=False) from None

    async def _bounded(
        self, method: str, url: str, max_body_bytes: int, **options: Any
    ) -> httpx.Response:
        """The answer with at most ``max_body_bytes`` of body read, as it came and as it
        inflates (a partner that sends megabytes, or a few KB of gzip that inflate to them, is
        stopped there, not held in memory: :mod:`core.platforms.bounded_body`)."""
        headers = {**(options.pop("headers", None) or {}), **ACCEPT}
        request = self._http.build_request(method, url, headers=headers, **options)
        streamed = await self._http.send(request, stream=True)
        try:
            reader = BoundedBody(streamed.headers.get("content-encoding"), max_body_bytes)
            async for chunk in streamed.aiter_raw():
                reader.add(chunk)
            body = reader.read()
        except TooLarge:
            raise ReplyTooLarge(streamed.status_code, max_body_bytes) from None
        except Unreadable as exc:
            raise httpx.DecodingError(f"the answer is {exc}", request=request) from None
        finally:
            await streamed.aclose()
        # Inflated already: the new answer must not decode it again.
        dropped = {"content-encoding", "content-length", "transfer-encoding"}
        kept = [(k, v) for k, v in streamed.headers.multi_items() if k.lower() not in dropped]
        return httpx.Response(streamed.status_code, headers=kept, content=body, request=request)

    async def _send_or_retry(
        self,
        method: str,
        url: str,
        *,
        unreachable: Callable[[NoAnswer], Exception],
        is_idempotent: bool,
        **options: Any,
    ) -> httpx.Response:
        """One attempt for :meth:`Backoff.run`: the answer, whatever its status. When none came
        back, the client's own error (``unreachable(no_answer)``) is raised as a :class:`Retry`
        if the request never left or is safe to repeat, else as it is."""
        try:
            return await self._send(method, url, **options)
        except NoAnswer as exc:
            error = unreachable(exc)
            if exc.is_unsent or is_idempotent:
                raise Retry(error, exc.problem) from None
            raise error from None

    async def _send_with_retries(
        self,
        method: str,
        url: str,
        *,
        backoff: Backoff,
        on_retry: Callable[[Retry, int, float], object],
        unreachable: Callable[[NoAnswer], Exception],
        refusal: Callable[[httpx.Response], Exception],
        is_idempotent: bool,
        **options: Any,
    ) -> httpx.Response:
        """The first answer below 400, trying again as ``backoff`` allows. An answer of 400 or
        more raises ``refusal(response)``: a :class:`Retry` to try again, else the client's own
        error. No answer at all is handled as :meth:`_send_or_retry` says."""

        async def attempt() -> httpx.Response:
            response = await self._send_or_retry(
                method, url, unreachable=unreachable, is_idempotent=is_idempotent, **options
            )
            if response.status_code < 400:
                return response
            raise refusal(response)

        return await backoff.run(attempt, on_retry)


class ServiceClient(HttpClient):
    """A client of a third-party JSON service (Shuffle, StreamElements): it asks for JSON as
    StreamKeeper, follows no redirect and retries through one :class:`Backoff`. A subclass names
    its time limits (``timeout`` per phase, ``total_timeout_seconds`` per request) and its default
    ``backoff_base`` and ``max_retry_after`` (see :class:`Backoff`); a caller may pass others."""

    timeout: ClassVar[httpx.Timeout]
    total_timeout_seconds: ClassVar[float]
    default_backoff_base: ClassVar[float]
    default_max_retry_after: ClassVar[float]
    # A call's time in all, retries and their waits included (see :class:`Backoff`); None: as
    # many retries as ``max_retries`` allows, however long they take.
    budget_seconds: ClassVar[float | None] = None

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        max_retries: int = 2,
        backoff_base: float | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        max_retry_after: float | None = None,
    ) -> None:
        super().__init__(
            http,
            total_timeout_seconds=self.total_timeout_seconds,
            timeout=self.timeout,
            headers={"Accept": "application/json", "User-Agent": "StreamKeeper"},
            follow_redirects=False,
        )
        self._backoff = Backoff(
            max_retries,
            self.default_backoff_base if backoff_base is None else backoff_base,
            self.default_max_retry_after if max_retry_after is None else max_retry_after,
            sleep,
            jitter,
            budget_seconds=self.budget_seconds,
            attempt_seconds=self.total_timeout_seconds,
        )


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds, at most ``LONGEST_RETRY_AFTER_SECONDS`` (a day);
    None when absent, an HTTP date or not a finite number, so that the caller falls back to
    backoff."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), LONGEST_RETRY_AFTER_SECONDS)


__all__ = [
    "LONGEST_RETRY_AFTER_SECONDS",
    "Backoff",
    "FateUnknown",
    "HttpClient",
    "NoAnswer",
    "ReplyTooLarge",
    "Retry",
    "ServiceClient",
    "retry_after",
]
