"""How long the call being made may still take: an outbox worker sets it around each call
(its ``timeout_seconds``), and a client's retries (``core/platforms/http.py``'s ``Backoff``,
the chat senders' own) make no wait that would outlast it. The error is handed back instead:
the worker hears "not done, try later" and tries again later, rather than cutting the call
off mid-wait, when a call the partner has no idempotency key for (a chat line) would be left
"uncertain" and never made again though nothing was sent.

A context variable: it follows the call into what it awaits and into worker threads
(``asyncio.to_thread`` copies it), and is gone outside the call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("call_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """The code in the block has ``seconds`` (or less, when an outer block has less)."""
    until = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def allows(wait_seconds: float, then_seconds: float = 0.0) -> bool:
    """Whether waiting ``wait_seconds`` and then taking ``then_seconds`` more (an attempt)
    still ends within the call's time; always, outside a call."""
    until = _DEADLINE.get()
    return until is None or time.monotonic() + wait_seconds + then_seconds <= until
