"""Many guilds' Shuffle polls at once, each in a lane of its own (issue 26): a guild whose Shuffle
hangs, or answers a challenge page slowly, holds only its own lane while the others' polls go
on; and a caller that cannot wait (a period's close) gives the late ones up after a bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)

LANES = 8  # guilds polled at the same time

T = TypeVar("T")


async def in_lanes(
    guild_ids: Sequence[int],
    poll: Callable[[int], Awaitable[T]],
    what: str,
    *,
    within: float | None = None,
    lanes: int = LANES,
) -> list[T]:
    """``poll(guild_id)`` for each guild, ``lanes`` at a time; the results of those that ended
    in time, in the guilds' order. A poll that raises is logged and left out; with ``within``,
    one still running after that many seconds is cancelled (logged) and left out. Cancelled,
    it cancels the polls still running, and returns once they ended."""
    room = asyncio.Semaphore(max(1, lanes))

    async def lane(guild_id: int) -> T | None:
        async with room:
            try:
                return await poll(guild_id)
            except Exception:
                log.exception("guild %s: %s failed", guild_id, what)
                return None

    polls = {asyncio.create_task(lane(guild_id)): guild_id for guild_id in guild_ids}
    if not polls:
        return []
    try:
        done, late = await asyncio.wait(polls, timeout=within)
    except asyncio.CancelledError:
        # The caller was cut off (the scheduler's stop, or the job's lease gone to another
        # process): its polls end with it, none goes on giving tickets after its job ended.
        for task in polls:
            task.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        raise
    for task in late:
        log.warning(
            "guild %s: %s got no answer within %g s; given up", polls[task], what, within or 0
        )
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    results = (task.result() for task in polls if task in done)
    return [result for result in results if result is not None]
