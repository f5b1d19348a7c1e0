"""Keeps the Kick event sources running: one Pusher listener per distinct (broadcaster, chatroom,
channel) that guilds stored, started and stopped as guilds add or change channels. What a
listener reads is marked with its chatroom, so it reaches only the guilds that chose it.

Webhooks need no process of their own (they arrive at the web side); Pusher does. It runs when
``KICK_PUSHER_ENABLED`` says so, or, when that is unset, when no public HTTPS ``OAUTH_BASE_URL``
is configured (Kick's webhooks cannot reach the bot then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.events import Event
from core.platforms.kick.pusher import PusherChannels, PusherListener, PusherState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelIds:
    broadcaster_user_id: str
    chatroom_id: int
    channel_id: int | None


def pusher_wanted(pusher_enabled: bool | None, oauth_base_url: str | None) -> bool:
    if pusher_enabled is not None:
        return pusher_enabled
    return not is_public_https(oauth_base_url)


def is_public_https(url: str | None) -> bool:
    if not url or not url.startswith("https://"):
        return False
    host = url.removeprefix("https://").split("/")[0].split(":")[0]
    return host not in {"localhost", "127.0.0.1", "::1"} and not host.endswith(".local")


class PusherSupervisor:
    def __init__(
        self,
        url: str,
        *,
        channels: Callable[[], Iterable[ChannelIds]],
        publish: Callable[[Event], object],
        webhooks_active: Callable[[str], bool],
    ) -> None:
        self.url = url
        self.channels = channels
        self.publish = publish
        self.webhooks_active = webhooks_active
        self._listeners: dict[
            ChannelIds, tuple[PusherListener, asyncio.Task[None], asyncio.Event]
        ] = {}

    def states(self) -> dict[tuple[str, int], PusherState]:
        """Each listener's connection state by (broadcaster, chatroom id), for !kick status.

        Two guilds may follow one broadcaster through different chatroom ids; each guild sees
        the listener of its own chatroom."""
        return {
            (ids.broadcaster_user_id, ids.chatroom_id): listener.state
            for ids, (listener, _, _) in self._listeners.items()
        }

    async def reconcile(self) -> None:
        wanted = set(await asyncio.to_thread(lambda: list(self.channels())))
        for ids in set(self._listeners) - wanted:
            await self._stop(ids)
        for ids in wanted - set(self._listeners):
            self._start(ids)

    def _start(self, ids: ChannelIds) -> None:
        broadcaster = ids.broadcaster_user_id
        listener = PusherListener(
            self.url,
            channel_ids=PusherChannels(ids.chatroom_id, ids.channel_id, broadcaster),
            publish=self.publish,  # type: ignore[arg-type]
            webhooks_active=lambda: self.webhooks_active(broadcaster),
        )
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop), name=f"pusher-{broadcaster}")
        self._listeners[ids] = (listener, task, stop)
        log.info(
            "listening to Kick chatroom %s over Pusher (broadcaster %s)",
            ids.chatroom_id,
            broadcaster,
        )

    async def _stop(self, ids: ChannelIds) -> None:
        _, task, stop = self._listeners.pop(ids)
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)

    async def run(self, stop: asyncio.Event, *, every_seconds: float = 60.0) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.reconcile()
                except Exception:
                    log.exception("could not update the Pusher listeners; trying again later")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        finally:
            for ids in list(self._listeners):
                await self._stop(ids)
