"""An accepted slot call's post in Discord goes through the outbox (issue 26): the row is
written in the transaction that stores the call, and the process connected to the guild's
Discord shard posts it (service ``discord``), each guild's posts in order.

So a chat command never waits on Discord, a call accepted while Discord is away is posted when
it answers again (the worker's backoff), and a kill at any point leaves the post made once or
visibly pending. A Discord message has no idempotency key: a post whose fate is unknown (no
answer in time, a worker killed while posting) ends ``uncertain`` and is not posted again. A
call picked or cleared before its post went out is not posted: the queue moved on.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from core.features.slot_calls.ports import SlotCallPoster
from core.outbox import DISCORD, store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, Outcome, Refused

POST = "slot_calls.post"


def queue_post(
    conn: Connection,
    guild_id: int,
    call_id: int,
    channel_id: int,
    position: int,
    now: datetime,
    *,
    who: str,
    slot: str,
) -> None:
    """Queue the post of an accepted call (``who`` called ``slot``), in the caller's (the
    call's) transaction."""
    payload = {"call_id": call_id, "channel_id": channel_id, "position": position}
    summary = f"post {who}'s slot call {slot!r} in Discord"
    effect = Effect(DISCORD, POST, guild_id, f"slot-call:{call_id}", payload, summary)
    store.enqueue(conn, effect, now)


class SlotCallPosts:
    """The ``discord`` worker's kind that posts a queued call."""

    def __init__(self, service: Any, poster: SlotCallPoster) -> None:
        self.service = service  # a SlotCallService (typed loosely: the service imports this)
        self.poster = poster

    def kinds(self) -> dict[str, Kind]:
        # Its poster says when the post leaves: a failure before is tried again.
        return {POST: Kind(self.post, idempotent=False, says_when_sent=True)}

    async def post(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        call_id = int(payload["call_id"])
        call = await asyncio.to_thread(self.service.call_to_post, guild_id, call_id)
        if call is None:
            return Done("not posted: posted before, or picked or cleared meanwhile")
        channel_id = int(payload["channel_id"])
        # Its place now, not when it was queued: calls before it may have closed meanwhile.
        position = await asyncio.to_thread(self.service.queue_position, guild_id, call_id)
        refusal = await self.poster.post_call(channel_id, call, position)
        if refusal is not None:
            return Refused(refusal)  # in words: what happened and what to do
        await asyncio.to_thread(self.service.mark_posted, guild_id, call_id)
        return Done("posted")
