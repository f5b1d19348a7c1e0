"""Posting a feature's pending Discord messages (a heist's result, a raffle's announcement),
as every bot process does it: one round at a time in this process, since two rounds at once
would both post what neither had marked posted yet, and only for the guilds this process's
Discord client reaches; the process of each other shard posts its own guilds'.

One guild's post that fails or outlasts ``POST_SECONDS`` (its channel rate-limited, Discord
slow) waits for the next round with that guild's later posts; the other guilds' go on, side by
side with it (:meth:`ShardPosts.per_guild`): discord.py sleeps through a channel's rate limit
of up to 30 s inside the post, and that sleep holds up no other guild's posts.

A post Discord refuses for good (a permission taken away, the channel deleted, a thread locked)
is not tried again: :func:`record_refused_post` lists it under "What the bot could not do"
(``!health``, the dashboard's overview) with the fix in words, as a refused outbox call is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import Engine

from core.outbox import DISCORD
from core.outbox.refused_elsewhere import record_refused
from core.outbox.store import FAILED, REFUSED, Effect

T = TypeVar("T")
POST_SECONDS = 30.0
LANES = 8  # guilds whose posts are made at the same time


class ShardPosts:
    def __init__(self, on_this_shard: Callable[[int], bool] = lambda guild_id: True) -> None:
        """``on_this_shard(guild_id)``: whether this process's Discord client reaches the guild
        (``Assembly.on_discord_shard``; every guild by default)."""
        self.on_this_shard = on_this_shard
        self._round = asyncio.Lock()

    def one_round(self) -> AbstractAsyncContextManager[object]:
        """``async with`` it around a round of posts: a second round waits for the first."""
        return self._round

    def reaches(self, guild_id: int) -> bool:
        """Whether this process posts the guild's messages."""
        return self.on_this_shard(guild_id)

    async def in_time(self, post: Awaitable[T]) -> T:
        """``post``'s result, or TimeoutError after ``POST_SECONDS``."""
        async with asyncio.timeout(POST_SECONDS):
            return await post

    async def per_guild(
        self,
        items: Sequence[T],
        guild_of: Callable[[T], int],
        post: Callable[[T], Awaitable[object]],
        mark: Callable[[T], Awaitable[object]],
        waits: Callable[[T, Exception], object],
    ) -> int:
        """Post ``items`` of the guilds this process reaches: each guild's in order,
        ``post(item)`` within ``POST_SECONDS`` then ``mark(item)`` (posted), up to its first
        post that fails or runs out of time (``waits(item, error)`` is told; the guild's later
        items wait with it for the next round); different guilds' side by side, ``LANES`` at a
        time. How many were posted. A failing ``mark`` is raised once every lane has ended."""
        lanes: dict[int, list[T]] = {}
        for item in items:
            if self.reaches(guild_of(item)):
                lanes.setdefault(guild_of(item), []).append(item)
        room = asyncio.Semaphore(LANES)

        async def lane(queue: list[T]) -> int:
            posted = 0
            async with room:
                for item in queue:
                    try:
                        await self.in_time(post(item))
                    except Exception as exc:
                        waits(item, exc)
                        break
                    await mark(item)
                    posted += 1
            return posted

        ended = await asyncio.gather(*(lane(q) for q in lanes.values()), return_exceptions=True)
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome
        return sum(n for n in ended if isinstance(n, int))


def record_refused_post(
    engine: Engine,
    guild_id: int,
    kind: str,
    key: str,
    summary: str,
    reason: str,
    now: datetime,
    *,
    given_up: bool = False,
) -> None:
    """Note that Discord refused the guild's post ``key`` (of ``kind``; ``summary``: what it
    was, in the streamer's words) for ``reason`` (what to do), once however often it is said:
    listed with the Discord calls that did not happen (``core/outbox/refused_elsewhere.py``).
    ``given_up``: not refused, but not posted in the time it was worth posting (failed)."""
    effect = Effect(DISCORD, kind, guild_id, key, {}, summary)
    with engine.begin() as conn:
        record_refused(conn, effect, reason, now, state=FAILED if given_up else REFUSED)
