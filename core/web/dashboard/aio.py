"""Running a feature's coroutine from a web thread (the VIP service is async: it calls Twitch).

In the combined process the bot's loop runs the coroutine: the features' HTTP clients were made
on it and must stay on it. A web process without a pipeline (gunicorn's workers) gets one loop
of its own on a daemon thread, made on first use, so its clients stay on that one loop too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT_SECONDS = 30.0


def coroutine_runner(
    loop_of: Callable[[], asyncio.AbstractEventLoop | None] = lambda: None,
) -> Callable[[Coroutine[Any, Any, T]], T]:
    own: list[asyncio.AbstractEventLoop] = []
    lock = threading.Lock()

    def own_loop() -> asyncio.AbstractEventLoop:
        with lock:
            if not own:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="web-async", daemon=True).start()
                own.append(loop)
            return own[0]

    def run(coro: Coroutine[Any, Any, T]) -> T:
        loop = loop_of()
        if loop is None or not loop.is_running():
            loop = own_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result(TIMEOUT_SECONDS)

    return run
