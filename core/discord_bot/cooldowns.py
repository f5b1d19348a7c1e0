"""Command cooldowns on the bot's clock.

discord.py's own cooldowns read the time from each message, so a test cannot move them on; these
read the runtime's clock instead (``BotServices.clock``), which a test can advance. They are
checked after the arguments are parsed, so a command refused for its arguments costs no cooldown.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from discord.ext import commands

T = TypeVar("T")
CAPACITY = 10_000  # keys remembered at most; the oldest go first


class Cooldowns:
    """When each key may be used again. ``clock`` gives seconds."""

    def __init__(self, clock: Callable[[], float], capacity: int = CAPACITY) -> None:
        self.clock = clock
        self.capacity = capacity
        self._until: OrderedDict[Hashable, float] = OrderedDict()

    def retry_after(self, key: Hashable, seconds: float) -> float | None:
        """Seconds to wait while ``key`` is cooling down; else None, and the cooldown starts."""
        now = self.clock()
        until = self._until.get(key)
        if until is not None and until > now:
            return until - now
        self._until[key] = now + seconds
        self._until.move_to_end(key)
        while len(self._until) > self.capacity:
            self._until.popitem(last=False)
        return None

    def reset(self, key: Hashable) -> None:
        self._until.pop(key, None)


def cooldown(seconds: float, per: commands.BucketType) -> Callable[[T], T]:
    """Let a command run once per ``seconds`` per ``per`` bucket (user, channel, ...)."""

    async def check(*args: Any) -> None:
        ctx: commands.Context[Any] = args[-1]  # a cog command's hook gets (cog, ctx)
        wait = _cooldowns_of(ctx).retry_after(_key(ctx, per), seconds)
        if wait is not None:
            raise commands.CommandOnCooldown(commands.Cooldown(1, seconds), wait, per)

    def decorate(command: T) -> T:
        command.__streamkeeper_cooldown__ = per  # type: ignore[attr-defined]
        return commands.before_invoke(check)(command)

    return decorate


def reset_cooldown(ctx: commands.Context[Any]) -> None:
    """Let the member use the command again at once (its cooldown bucket is cleared)."""
    if ctx.command is None:
        return
    per = getattr(ctx.command.callback, "__streamkeeper_cooldown__", None)
    if per is not None:
        _cooldowns_of(ctx).reset(_key(ctx, per))


def _key(ctx: commands.Context[Any], per: commands.BucketType) -> Hashable:
    name = ctx.command.qualified_name if ctx.command else ""
    return (name, per.get_key(ctx))


def _cooldowns_of(ctx: commands.Context[Any]) -> Cooldowns:
    return ctx.bot.cooldowns  # type: ignore[no-any-return]
