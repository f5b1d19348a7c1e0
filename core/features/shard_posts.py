"""Posting a feature's pending Discord messages (a heist's result, a raffle's announcement),
as every bot process does it: one round at a time in this process, since two rounds at once
would both post what neither had marked posted yet, and only for the guilds this process's
Discord client reaches; the process of each other shard posts its own guilds'.

One guild's post that fails or outlasts ``POST_SECONDS`` (its channel rate-limited, Discord
slow) waits for the next round with that guild's later posts; the other guilds' go on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

T = TypeVar("T")
POST_SECONDS = 30.0


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
