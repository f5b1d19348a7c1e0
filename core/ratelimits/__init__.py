"""Partners' rate limits, counted where every process sees them (see ``windows.py``).

Infrastructure: imports no feature; the runtime builds one :class:`Windows` per process
(:func:`windows_for`) and passes it to the partners' clients, which name the keys and limits.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from core.ratelimits.redis_windows import RedisWindows
from core.ratelimits.windows import Limit, MemoryWindows, Taken, Windows


def windows_for(client: redis.Redis | None, processes: Callable[[], int] = lambda: 1) -> Windows:
    """In Redis when the deployment has it (every bot process shares the windows; while Redis
    is out, each paces on its share of the ``processes()``), else in this process's memory
    (the embedded deployment runs one bot process)."""
    return MemoryWindows() if client is None else RedisWindows(client, processes=processes)


__all__ = ["Limit", "MemoryWindows", "RedisWindows", "Taken", "Windows", "windows_for"]
