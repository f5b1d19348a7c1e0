"""Posting a feature's pending Discord messages (a heist's result, a raffle's announcement),
as every bot process does it: one round at a time in this process, since two rounds at once
would both post what neither had marked posted yet, and only for the guilds this process's
Discord client reaches; the process of each other shard posts its own guilds'."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager


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
