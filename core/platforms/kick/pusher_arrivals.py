"""When each Pusher frame first arrived, for the copies Kick sends on a chatroom's other
aliases and of one gift as its three kinds of frame (see :class:`FirstArrivals`)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from core.events import Event, SubscriptionsGifted
from core.platforms.kick.pusher_events import (
    CHAT_EVENT,
    PusherFrame,
    channel_key,
    event_from_frame,
    gift_parts,
)


class FirstArrivals:
    """When each frame was first received. Kick repeats some events on several aliases of a
    chatroom (:meth:`PusherChannels.names`), moments apart; a copy is parsed as of the first
    arrival, so a frame whose id is made from its time window (a reward redemption:
    ``REWARD_WINDOW_SECONDS`` in pusher_events) gets the first copy's id even when the copies
    fall either side of a window's edge. A gift (its id made from ``GIFT_WINDOW_SECONDS``)
    comes as up to three kinds of frame, with different data: it is read as of the first
    arrival of any frame naming the same gifter and giftees. Remembers frames for
    ``keep_seconds``, at most ``most`` of them."""

    def __init__(self, keep_seconds: float = 30.0, most: int = 2000) -> None:
        self.keep = timedelta(seconds=keep_seconds)
        self.most = most
        self._first: dict[str, datetime] = {}

    def read(self, frame: PusherFrame, broadcaster_user_id: str, now: datetime) -> Event | None:
        """The frame's event, read as of the first arrival of the same event (chat names
        itself by its message id, so it is read as of ``now``)."""
        if frame.event == CHAT_EVENT:
            return event_from_frame(frame, broadcaster_user_id=broadcaster_user_id, received_at=now)
        received_at = self.of(frame, broadcaster_user_id, now)
        event = event_from_frame(
            frame, broadcaster_user_id=broadcaster_user_id, received_at=received_at
        )
        if isinstance(event, SubscriptionsGifted) and event.giftees:
            first = self._first_of(_gift_digest(event), received_at)
            if first != received_at:
                event = event_from_frame(
                    frame, broadcaster_user_id=broadcaster_user_id, received_at=first
                )
        return event

    def of(self, frame: PusherFrame, broadcaster_user_id: str, now: datetime) -> datetime:
        """``now``, or when the same frame first arrived within the last ``keep_seconds``."""
        return self._first_of(_digest(frame, broadcaster_user_id), now)

    def _first_of(self, digest: str, now: datetime) -> datetime:
        first = self._first.pop(digest, None)
        if first is not None and now - first <= self.keep:
            self._first[digest] = first
            return first
        self._first[digest] = now  # the newest last: the dict keeps insertion order
        while self._first:  # the oldest go first, only as far as they must
            oldest, at = next(iter(self._first.items()))
            if now - at <= self.keep and len(self._first) <= self.most:
                break
            del self._first[oldest]
        return now


def _digest(frame: PusherFrame, broadcaster_user_id: str) -> str:
    """The frame whatever alias or encoding brought it (as the event ids are made)."""
    data = json.dumps(frame.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    parts = (frame.event, channel_key(frame.channel), broadcaster_user_id, data)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _gift_digest(gift: SubscriptionsGifted) -> str:
    """The gift whichever kind of frame told it (:func:`gift_parts`, as its id is made)."""
    parts = gift_parts(gift.broadcaster_user_id, gift.gifter, gift.giftees)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
