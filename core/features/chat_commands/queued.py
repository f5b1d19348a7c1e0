"""The bot's chat lines through the outbox (issue 26): a reply, an announcement or a heist's
result is a row of ``outbox`` for the platform's chat worker (service ``kick-chat`` or
``twitch-chat``), which posts it with the platform's sender, each guild's lines in order.

So a line survives a restart, a process that stops hands its unsent lines to another, and a
reply is said once whichever process answered the command, however often it ran: its key is the
chat and the message it answers, not its text, so a command run again after a kill (whose
second run may answer otherwise: "You are already in this heist's crew.") adds no second line.
A chat line has no idempotency key at the platforms: one whose fate is unknown (no answer, a
worker killed while posting) ends ``uncertain`` and is never posted again, and one the platform
refused (after the sender's own retries) ends ``refused`` with the reason. A sender says a
line's fate is unknown with a :class:`~core.features.chat_commands.ports.FateUnknown` (Kick's:
a post that got no answer, which it never retries). A reply that could not be said within
:data:`REPLY_LATE` of being queued (the platform's chat away, a long rate limit) is not said at
all: after an outage, chat is not flooded with answers to questions asked minutes ago. It ends
``refused``, saying how late; announcements are still said late.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.events import Platform, utc
from core.features.chat_commands.ports import (
    ChatSender,
    DirectChatSender,
    FateUnknown,
    TryLater,
)
from core.outbox import store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, Outcome, Refused, Retry, Uncertain

SAY = "say"
TIMEOUT_SECONDS = 120.0  # the senders retry a rate limit or an unreachable platform themselves
REPLY_LATE = timedelta(minutes=5)  # a reply not said by then is not said at all


def service_of(platform: Platform) -> str:
    return f"{platform}-chat"


def queue_line(
    conn: Connection,
    platform: Platform,
    guild_id: int,
    broadcaster_user_id: str,
    text: str,
    key: str,
    now: datetime,
    *,
    reply_to_message_id: str | None = None,
) -> bool:
    """Queue one chat line in the caller's transaction under ``key`` (the line is said once
    per key, whoever queues it how often); False when that key was queued before."""
    effect = line_effect(
        platform,
        guild_id,
        broadcaster_user_id,
        text,
        key,
        now,
        reply_to_message_id=reply_to_message_id,
    )
    return store.enqueue(conn, effect, now)


def line_effect(
    platform: Platform,
    guild_id: int,
    broadcaster_user_id: str,
    text: str,
    key: str,
    now: datetime,
    *,
    reply_to_message_id: str | None = None,
    **more: object,
) -> Effect:
    """The outbox call that says ``text`` in the channel's chat; ``more``: what else its
    payload keeps (the worker reads only the line)."""
    payload = {
        **more,
        "broadcaster_user_id": broadcaster_user_id,
        "text": text,
        "reply_to_message_id": reply_to_message_id,
        "queued_at": now.isoformat(),
    }
    summary = f"say in chat: {text}"  # the service names the platform
    return Effect(service_of(platform), SAY, guild_id, key, payload, summary)


class QueuedChat:
    """Chat senders that queue in the outbox, and the kinds their workers run.

    ``direct(platform)`` is the platform's own sender (None when the bot cannot talk there): it
    is asked on each use, as senders are built lazily."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        direct: Callable[[Platform], DirectChatSender | None],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.direct = direct

    def sender_for(self, platform: Platform) -> ChatSender | None:
        """A sender that queues for ``platform``, or None when the bot cannot talk there."""
        if self.direct(platform) is None:
            return None
        return _QueuingSender(self, platform)

    def queue(
        self,
        platform: Platform,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None,
    ) -> bool:
        """Queue one line; False when a reply to that message was queued already (one reply
        per message, whatever it says and whichever guild answered)."""
        if reply_to_message_id:
            key = f"say:{platform}:{broadcaster_user_id[:64]}:{reply_to_message_id[:100]}"
        else:
            key = f"say:{platform}:{guild_id}:{uuid.uuid4().hex}"
        with self.engine.begin() as conn:
            return queue_line(
                conn,
                platform,
                guild_id,
                broadcaster_user_id,
                text,
                key,
                utc(self.clock()),
                reply_to_message_id=reply_to_message_id,
            )

    def kind(self, platform: Platform) -> Kind:
        async def say(guild_id: int, payload: dict[str, Any]) -> Outcome:
            sender = self.direct(platform)
            if sender is None:
                return Refused(f"the bot cannot talk in {platform} chat now")
            late = self._late(payload)
            if payload.get("reply_to_message_id") and late is not None and late >= REPLY_LATE:
                minutes = int(late.total_seconds() // 60)
                return Refused(f"not said: a reply {minutes} min late (the chat has moved on)")
            stopped = await sender.deliver_now(
                guild_id=guild_id,
                broadcaster_user_id=str(payload["broadcaster_user_id"]),
                text=str(payload["text"]),
                reply_to_message_id=payload.get("reply_to_message_id"),
            )
            if stopped is None:
                return Done("said")
            if isinstance(stopped, FateUnknown):
                return Uncertain(stopped)
            if isinstance(stopped, TryLater):  # after the wait the platform asked, if it said
                return Retry(stopped, stopped.retry_after)
            return Refused(stopped)

        # The senders' clients say when a line leaves: one that waited for its rate limit past
        # the call's time, or a stop, is said later (not called uncertain).
        return Kind(say, idempotent=False, says_when_sent=True)

    def _late(self, payload: dict[str, Any]) -> timedelta | None:
        """How long ago the line was queued; None for a line queued before lines said when."""
        try:
            queued_at = datetime.fromisoformat(str(payload["queued_at"]))
        except (KeyError, ValueError):
            return None
        return utc(self.clock()) - utc(queued_at)


class _QueuingSender:
    def __init__(self, queued: QueuedChat, platform: Platform) -> None:
        self._queued = queued
        self._platform = platform

    async def send(
        self,
        *,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        reply_to_message_id: str | None = None,
    ) -> None:
        await asyncio.to_thread(
            self._queued.queue,
            self._platform,
            guild_id,
            broadcaster_user_id,
            text,
            reply_to_message_id,
        )
