"""The scripting both fake platforms (``kick_server.py``, ``twitch_server.py``) offer tests: a
consent to deny, requests to fail or to drop, and the requests they received.

A fake keeps ``requests`` (its own ``RecordedRequest``s, each with a ``method`` and a ``path``),
``_failures``, ``_deny_consents`` and ``_lock`` (:meth:`Scripted._start_script` sets them up); its
middleware asks :meth:`Scripted._take_failure` for each request, and its ``fail_next`` (each
platform's own errors) adds a :class:`Failure` with :meth:`Scripted._add_failure`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web


class _Recorded(Protocol):
    method: str
    path: str


R = TypeVar("R", bound=_Recorded)

HOLD_POLL_SECONDS = 0.01  # how often a hang looks whether the test released it


@dataclass
class Hang:
    """A scripted hang, as the test sees it: ``held`` is set once a request is being held,
    and :meth:`release` ends the hang (for the requests it holds and any it holds later)."""

    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class Failure:
    method: str | None
    status: int
    times: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    is_disconnect: bool = False
    delay_seconds: float = 0.0  # answered (as usual, or with status) only after this long
    hang: Hang = field(default_factory=Hang)  # or once the test releases it
    # Processed as usual at once (the platform acts), answered only once this is set.
    answer_held: threading.Event | None = None

    async def hold(self) -> None:
        """Until ``delay_seconds`` have passed or the test releases the hang."""
        self.hang.held.set()
        loop = asyncio.get_running_loop()
        until = loop.time() + self.delay_seconds
        # The test releases from its own thread: polled, as no asyncio.Event could be set.
        while not self.hang.released.is_set() and loop.time() < until:  # noqa: ASYNC110
            await asyncio.sleep(min(HOLD_POLL_SECONDS, max(0.0, until - loop.time())))


class Scripted(Generic[R]):
    requests: list[R]
    _failures: dict[str, list[Failure]]
    _deny_consents: int
    _lock: threading.RLock

    def _start_script(self) -> None:
        self.requests = []
        self._failures = {}
        self._deny_consents = 0
        self._lock = threading.RLock()

    def deny_next_consent(self) -> None:
        """The next authorization redirects back with ``error=access_denied``."""
        with self._lock:
            self._deny_consents += 1

    def disconnect_next(self, path: str, *, times: int = 1, method: str | None = None) -> None:
        """The next ``times`` requests to ``path`` are processed, then the connection is dropped
        before any answer: the client cannot tell whether the platform acted."""
        self._add_failure(path, Failure(method and method.upper(), 0, times, is_disconnect=True))

    def hang_next(
        self, path: str, seconds: float, *, times: int = 1, method: str | None = None
    ) -> Hang:
        """The next ``times`` requests to ``path`` get no answer for ``seconds`` (a platform
        that hangs), or until the test releases the :class:`Hang` returned (however slow the
        machine, the hang ends when the test says); a client that waits that long then gets
        the usual answer."""
        failure = Failure(method and method.upper(), 0, times, delay_seconds=seconds)
        self._add_failure(path, failure)
        return failure.hang

    def recover(self) -> None:
        """Forget every failure still scripted: the platform works again (a hang under way
        still ends as scripted)."""
        with self._lock:
            self._failures.clear()

    def requests_to(self, path: str, method: str | None = None) -> list[R]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and (method is None or r.method == method.upper())
            ]

    def _add_failure(self, path: str, failure: Failure) -> None:
        with self._lock:
            self._failures.setdefault(path, []).append(failure)

    def _take_failure(self, request: web.Request) -> Failure | None:
        """The scripted failure for this request, counted; call it holding ``_lock``."""
        queue = self._failures.get(request.path, [])
        for failure in queue:
            if failure.method in (None, request.method):
                failure.times -= 1
                if failure.times <= 0:
                    queue.remove(failure)
                return failure
        return None
