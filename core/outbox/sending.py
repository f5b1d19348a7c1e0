"""Whether the call being made may have reached its partner yet.

A kind that is not idempotent and says so (``Kind.says_when_sent``) is made within
:func:`watched`, and the partner's client says :func:`going_out` just before each request that
may change something there: every HTTP client does for each request but a read
(``core/platforms/http.py``), and the Discord poster before each post
(``core/discord_bot/channel_posts.py``). Until the first,
nothing the call did can have reached the partner, so a call that fails, runs out of time, or
is cut off by a stop or a kill is tried again as if it was never made (a chat line that waited
for its rate limit is said later, not called uncertain). From then on it may have: it ends
uncertain however it fails, never sent again (an exception after a post went out no longer
posts it twice).

The first :func:`going_out` marks the call in flight in the database before its request leaves,
so that a process killed after it leaves the call uncertain, and one killed before it leaves the
call to be made. When that mark cannot be written (the call passed to another worker, or the
database failed) the request does not leave: :class:`NotSent` is raised, and the worker
disregards what the call answered then (a client may turn the error into a refusal).

A context variable, as ``deadline.py``'s: it follows the call into what it awaits and into
worker threads, and is gone outside a call (:func:`going_out` then does nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class NotSent(Exception):
    """The request did not leave: the call could not be marked in flight first."""


class TurnedAway(Exception):
    """The partner turned the call's request away without acting on it (a rate limit longer
    than its client waits): nothing of the call was done, though its request went out, so the
    worker makes it again after ``retry_after`` seconds (None: its backoff), never uncertain."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Watch:
    """One call's: ``mark()`` marks it in flight (False: the call is another worker's now);
    ``went_out`` once a request may have left; ``stopped`` the failure that kept one in."""

    def __init__(self, mark: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.mark = mark
        self.went_out = False
        self.stopped: BaseException | None = None
        self.is_taken_over = False
        self.is_over = False  # the call ended: a task it started that sends later is not it


_WATCH: ContextVar[Watch | None] = ContextVar("call_sending", default=None)


@contextmanager
def watched(watch: Watch) -> Iterator[Watch]:
    """The call made in the block is watched by ``watch``."""
    token = _WATCH.set(watch)
    try:
        yield watch
    finally:
        watch.is_over = True
        _WATCH.reset(token)


async def going_out() -> None:
    """A request of the call being made leaves now (the first marks the call in flight);
    :class:`NotSent` when it must not. Outside a watched call, nothing."""
    watch = _WATCH.get()
    if watch is None or watch.went_out or watch.is_over:
        return
    if watch.mark is not None:
        try:
            is_ours = await watch.mark()
        except Exception as exc:
            watch.stopped = exc
            raise NotSent(f"the call could not be marked in flight ({exc})") from exc
        if not is_ours:
            watch.is_taken_over = True
            watch.stopped = NotSent("the call passed to another worker")
            raise watch.stopped
    watch.went_out, watch.stopped = True, None


__all__ = ["NotSent", "TurnedAway", "Watch", "going_out", "watched"]
