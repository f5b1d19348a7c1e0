"""Keeps the Kick event sources running: one Pusher listener per distinct (broadcaster, chatroom,
channel) that guilds stored, started and stopped as guilds add or change channels. What a
listener reads is marked with its chatroom, so it reaches only the guilds that chose it.

Webhooks need no process of their own (they arrive at the web side); Pusher does. It runs when
``KICK_PUSHER_ENABLED`` says so, or, when that is unset, when no public HTTPS ``OAUTH_BASE_URL``
is configured (Kick's webhooks cannot reach the bot then).

Which source reports what is decided per broadcaster *and event type*, from what is arriving
(:class:`WebhookDeliveries`): Pusher passes on an event unless webhooks of its type are
delivering for that broadcaster. See ``docs/pusher.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.events import (
    ChatMessageSent,
    Event,
    Followed,
    KicksGifted,
    RewardRedeemed,
    StreamEnded,
    StreamMetadataUpdated,
    StreamStarted,
    Subscribed,
    SubscriptionsGifted,
    ViewerBanned,
)
from core.platforms.kick.pusher import PusherChannels, PusherListener, PusherState
from core.platforms.sockets import DELIVERY_WINDOW, is_public_https, repeat_until_stopped

log = logging.getLogger(__name__)


# The Kick webhook types that carry each event, so Pusher can ask about the right ones.
WEBHOOK_TYPES: dict[type[Event], tuple[str, ...]] = {
    ChatMessageSent: ("chat.message.sent",),
    Subscribed: ("channel.subscription.new", "channel.subscription.renewal"),
    SubscriptionsGifted: ("channel.subscription.gifts",),
    RewardRedeemed: ("channel.reward.redemption.updated",),
    StreamStarted: ("livestream.status.updated",),
    StreamEnded: ("livestream.status.updated",),
    StreamMetadataUpdated: ("livestream.metadata.updated",),
    Followed: ("channel.followed",),
    ViewerBanned: ("moderation.banned",),
    KicksGifted: ("kicks.gifted",),
}


@dataclass(frozen=True)
class WebhookDeliveries:
    """What Kick's webhooks are delivering, per (broadcaster, webhook type): when one last
    arrived (``arrived``) and which subscriptions are stored (``subscribed``)."""

    arrived: Mapping[tuple[str, str], datetime] = field(default_factory=dict)
    subscribed: frozenset[tuple[str, str]] = frozenset()

    def deliver(self, broadcaster_user_id: str, event: Event, now: datetime) -> bool:
        """Whether webhooks deliver ``event``'s type for this broadcaster, so that Pusher's copy
        must be dropped: a webhook of that type arrived within the window, or the type is
        subscribed and webhooks of any type are arriving for the broadcaster (the subscription
        is then the best guess for a type that has simply not happened lately). An event type
        webhooks never carry is always Pusher's."""
        types = WEBHOOK_TYPES.get(type(event), ())
        since = now - DELIVERY_WINDOW
        if any(self.arrived.get((broadcaster_user_id, t), since) > since for t in types):
            return True
        if not any((broadcaster_user_id, t) in self.subscribed for t in types):
            return False
        return any(
            at > since for (who, _), at in self.arrived.items() if who == broadcaster_user_id
        )


@dataclass(frozen=True)
class ChannelIds:
    broadcaster_user_id: str
    chatroom_id: int
    channel_id: int | None


def pusher_wanted(pusher_enabled: bool | None, oauth_base_url: str | None) -> bool:
    if pusher_enabled is not None:
        return pusher_enabled
    return not is_public_https(oauth_base_url)


class PusherSupervisor:
    def __init__(
        self,
        url: str,
        *,
        channels: Callable[[], Iterable[ChannelIds]],
        publish: Callable[[Event], object],
        deliveries: Callable[[], WebhookDeliveries] = WebhookDeliveries,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``deliveries()`` reads what webhooks are delivering (it may block: it is run in a
        thread before each reconcile, once a minute); listeners ask the last reading."""
        self.url = url
        self.channels = channels
        self.publish = publish
        self.deliveries = deliveries
        self.clock = clock
        self._deliveries = WebhookDeliveries()
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

    def webhooks_deliver(self, broadcaster_user_id: str, event: Event) -> bool:
        """Cheap (asked on the loop for each Pusher event): the last reading, no query."""
        return self._deliveries.deliver(broadcaster_user_id, event, self.clock())

    async def refresh(self) -> None:
        self._deliveries = await asyncio.to_thread(self.deliveries)

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
            webhooks_deliver=lambda event: self.webhooks_deliver(broadcaster, event),
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
        steps = [
            (self.refresh, "could not read which webhooks arrive; keeping the last reading"),
            (self.reconcile, "could not update the Pusher listeners; trying again later"),
        ]
        try:
            await repeat_until_stopped(stop, steps, every_seconds=every_seconds, logger=log)
        finally:
            for ids in list(self._listeners):
                await self._stop(ids)
