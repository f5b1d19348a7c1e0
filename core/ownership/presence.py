"""Which bot process is connected to Discord, for the processes that are not (``python -m core
health`` in a shell, a web process): each bot process holds the lease ``presence:discord
<shard>`` while its Discord client is connected, renewed with every heartbeat and given up when
the connection drops or the process stops; a killed process's runs out with its other leases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from core.health import Check, unread
from core.ownership.leases import Leases
from core.ownership.share import HEARTBEAT_SECONDS

log = logging.getLogger(__name__)

PRESENCE = "presence:"


def discord_presence_name(shard: tuple[int, int] | None) -> str:
    """The lease of a process connected to Discord (as ``shard`` (id, count), or the whole
    gateway)."""
    if shard is None:
        return f"{PRESENCE}discord"
    shard_id, count = shard
    return f"{PRESENCE}discord shard {shard_id} of {count}"


class Presence:
    """Holds ``name`` while ``is_up()``, beating every ``every`` seconds."""

    def __init__(
        self,
        leases: Leases,
        name: str,
        is_up: Callable[[], bool],
        *,
        every: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.leases = leases
        self.name = name
        self.is_up = is_up
        self.every = every
        self._held = False

    def beat(self) -> bool:
        """Hold the lease when up, give it up when not (a process without Discord, or never
        connected, writes nothing); whether it is held."""
        if self.is_up():
            self._held = self.name in self.leases.hold([self.name])
        elif self._held:
            self.leases.release([self.name])
            self._held = False
        return self._held

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(self.beat)
                except Exception as exc:  # the database away: the lease runs out by itself
                    log.debug("Discord presence not renewed: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.every)
        finally:
            if self._held:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.leases.release, [self.name])


def discord_check(leases: Leases, shard_count: int | None) -> Check:
    """``discord`` as seen from a process that does not run the bot: ok naming the bot
    processes connected (and each shard's), degraded when none is (the bot is not running, or
    cannot reach Discord: its own health says why), or when a shard has no process."""
    try:
        present = leases.holders(PRESENCE + "discord")
    except Exception:
        return unread("discord")
    if not present:
        return Check(
            "discord",
            True,
            "no bot process is connected to Discord (is 'python -m core bot' running? its own "
            "health says why it is not connected)",
            degraded=True,
        )
    connected = ", ".join(
        f"{name.removeprefix(PRESENCE)} (bot process {holder})"
        for name, holder in sorted(present.items())
    )
    # Without the processes' names (a host's name, a pid), for /health and a server's view.
    shards = ", ".join(name.removeprefix(PRESENCE) for name in sorted(present))
    public = "connected" if shard_count is None else f"connected: {shards}"
    expected = {discord_presence_name(None)}
    if shard_count is not None:
        expected = {discord_presence_name((n, shard_count)) for n in range(shard_count)}
    missing = sorted(name.removeprefix(PRESENCE) for name in expected - set(present))
    if missing:
        lacking = f"; no process connected for {', '.join(missing)}"
        return Check(
            "discord",
            True,
            f"connected: {connected}{lacking}",
            degraded=True,
            public=public + lacking,
        )
    return Check("discord", True, f"connected: {connected}", public=public)
