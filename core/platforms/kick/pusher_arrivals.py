"""When each Pusher frame first arrived, for the copies Kick sends on a chatroom's other
aliases (see :class:`FirstArrivals`)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from core.platforms.kick.pusher_events import PusherFrame, channel_key


class FirstArrivals:
    """When each frame was first received. Kick repeats some events on several aliases of a
    chatroom (:meth:`PusherChannels.names`), moments apart; a copy is parsed as of the first
    arrival, so a frame whose id is made from its time window (a reward redemption:
    ``REWARD_WINDOW_SECONDS`` in pusher_events) gets the first copy's id even when the copies
    fall either side of a window's edge. Remembers frames for ``keep_seconds``, at most
    ``most`` of them."""

    def __init__(self, keep_seconds: float = 30.0, most: int = 2000) -> None:
        self.keep = timedelta(seconds=keep_seconds)
        self.most = most
        self._first: dict[str, datetime] = {}

    def of(self, frame: PusherFrame, broadcaster_user_id: str, now: datetime) -> datetime:
        """``now``, or when the same frame first arrived within the last ``keep_seconds``."""
        digest = _digest(frame, broadcaster_user_id)
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
