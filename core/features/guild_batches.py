"""Work done for many guilds at once, a batch of guilds per transaction, where one guild's
failure stays its own: a batch that fails is done again guild by guild, and a guild that fails
alone is logged and left for the next run. The watchtime tick, the points earned with it and
the raffle's watchtime tickets work this way."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

Result = TypeVar("Result")


def work_in_batches(
    guild_ids: Sequence[int],
    size: int,
    batch: Callable[[list[int]], list[Result]],
    guild: Callable[[int], Result],
    *,
    log: logging.Logger,
    batch_failed: str,
    guild_failed: str,
) -> list[Result]:
    """What ``batch`` returns for each run of up to ``size`` of ``guild_ids``, in order; for a
    batch that raised, what ``guild`` returns for each of its guilds that did not raise.

    ``batch_failed`` is logged (a warning with the traceback) with the failed batch's size,
    ``guild_failed`` (an error with the traceback) with a guild id: %-style messages, in the
    caller's ``log``.
    """
    results: list[Result] = []
    for first in range(0, len(guild_ids), size):
        ids = list(guild_ids[first : first + size])
        try:
            results.extend(batch(ids))
        except Exception:
            log.warning(batch_failed, len(ids), exc_info=True)
            for guild_id in ids:
                try:
                    results.append(guild(guild_id))
                except Exception:
                    log.exception(guild_failed, guild_id)
    return results
