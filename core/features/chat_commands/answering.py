"""Which of the Discord servers following one channel speaks in that channel's chat.

Several servers may follow one Kick or Twitch channel (docs/architecture.md, "Many guilds on one
channel"): each keeps its own watchtime, points, raffle and heists, but the stream has one chat.
So one server per channel answers the chat commands typed there and says "online" when it goes
live: the server whose streamer connection (on the chat's platform) is that channel, as the bot
talks there with that connection (a working one before one that needs the streamer again, the
lowest id among equals); else the lowest server id. A command each server turns on or off for
itself is answered by one of the servers that have it on, chosen the same way among them
(``speaking.py``). Every bot process picks the same one from the same rows; a change (a server
added, a streamer connecting) counts within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from core.events import ChatMessageSent, Platform
from core.features.connections import connection_rows
from core.features.connections.connection_rows import CONNECTED
from core.features.connections.tables import kick_connections, twitch_connections

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
_CONNECTIONS = {Platform.KICK: kick_connections, Platform.TWITCH: twitch_connections}

# (platform, broadcaster user id, chatroom the event was read from or None) -> guild ids
GuildsTracking = Callable[[Platform, str, "int | None"], list[int]]


class AnsweringGuilds:
    """``guilds_tracking`` is the dispatcher's routing (``GuildService.guilds_tracking``), so the
    server chosen is one the message or stream start was handed to."""

    def __init__(
        self,
        engine: Engine,
        guilds_tracking: GuildsTracking,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.guilds_tracking = guilds_tracking
        self.clock = clock
        self._chosen: dict[tuple[Platform, str, tuple[int, ...]], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        platform: Platform,
        broadcaster_user_id: str,
        via_chatroom_id: int | None = None,
        among: Callable[[int], bool] | None = None,
    ) -> int | None:
        """The server that speaks in this channel's chat; None when no server follows it.
        ``among``: chosen among the servers it holds for, when it holds for any (a command on
        in some servers only). Synchronous (it may read the database)."""
        guilds = sorted(self.guilds_tracking(platform, broadcaster_user_id, via_chatroom_id))
        if among is not None and len(guilds) > 1:
            guilds = _among(guilds, among)
        if len(guilds) < 2:
            return guilds[0] if guilds else None
        key = (platform, broadcaster_user_id, tuple(guilds))
        now = self.clock()
        with self._lock:
            cached = self._chosen.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            chosen = self._choose(platform, broadcaster_user_id, guilds)
        except Exception:  # the database away: still one server, as without connections
            log.warning("could not read the streamer connections; the lowest server answers")
            return guilds[0]
        with self._lock:
            if len(self._chosen) > 10_000:
                self._chosen.clear()
            self._chosen[key] = (now, chosen)
        return chosen

    def _choose(self, platform: Platform, broadcaster_user_id: str, guilds: list[int]) -> int:
        table = _CONNECTIONS.get(platform)
        if table is None:
            return guilds[0]
        with self.engine.connect() as conn:
            statuses = connection_rows.statuses_of_channel(conn, table, broadcaster_user_id, guilds)
        if not statuses:
            return guilds[0]
        return min(statuses, key=lambda guild_id: (statuses[guild_id] != CONNECTED, guild_id))

    async def answers(
        self, guild_id: int, event: ChatMessageSent, among: Callable[[int], bool] | None = None
    ) -> bool:
        """Whether ``guild_id`` answers the chat command in ``event`` (the router asks;
        ``among`` as for :meth:`__call__`)."""
        chosen = await asyncio.to_thread(
            self, event.platform, event.broadcaster_user_id, event.via_chatroom_id, among
        )
        return chosen is None or chosen == guild_id


def _among(guilds: list[int], among: Callable[[int], bool]) -> list[int]:
    """The guilds ``among`` holds for; all of them when it holds for none, or cannot tell."""
    try:
        having = [guild_id for guild_id in guilds if among(guild_id)]
    except Exception:  # the database away: the server answering every other command
        log.warning("could not tell which servers have the command on", exc_info=True)
        return guilds
    return having or guilds
