"""Replies in Twitch chat: Helix Send Chat Message with the streamer's own token (the streamer
consented with ``user:write:chat``), so the bot speaks as the channel.

:meth:`TwitchChatSender.send` never raises and does not wait for Twitch: each message is sent by
a task, one at a time per channel, so replies keep their order. A message longer than Twitch's
500 characters is split between words. Twitch may answer 200 and still drop a line (AutoMod,
chat settings): that is logged and counted, not retried, and so is a message sent without an
answer (Twitch may have posted it: :meth:`TwitchChatSender.deliver_now` says its fate is
unknown with a :class:`FateUnknown`, and the chat outbox ends it uncertain). Failures are counted in
``streamkeeper_chat_failed_total{platform="twitch"}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core.metrics import Counter
from core.platforms.chat import OutgoingMessage, SplittingChatSender
from core.platforms.http import FateUnknown, TryLater
from core.platforms.twitch.helix import (
    MAX_CHAT_LENGTH,
    ChatMessageResult,
    HelixClient,
    HelixError,
    HelixUnreachable,
    RateLimited,
)

log = logging.getLogger(__name__)

# call_as_streamer(guild_id, call): call(token) with the guild's streamer token, refreshed on 401.
StreamerCall = Callable[[int, Callable[[str], Awaitable[Any]]], Awaitable[Any]]


class TwitchChatSender(SplittingChatSender):
    platform = "Twitch"
    max_length = MAX_CHAT_LENGTH

    def __init__(
        self,
        helix: HelixClient,
        *,
        streamer_call: StreamerCall,
        failures: Counter | None = None,
    ) -> None:
        self._helix = helix
        self._streamer_call = streamer_call
        self._failures = failures
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _queue(self, message: OutgoingMessage) -> None:
        task = asyncio.create_task(self._deliver_now(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_now(self, message: OutgoingMessage) -> str | None:
        guild_id, broadcaster = message.guild_id, message.broadcaster_user_id
        lock = self._locks.setdefault(broadcaster, asyncio.Lock())
        async with lock:
            for number, part in enumerate(message.parts):
                parent = message.reply_to_message_id if number == 0 else None
                try:
                    result: ChatMessageResult = await self._streamer_call(
                        guild_id,
                        lambda token, part=part, parent=parent: self._helix.send_chat_message(
                            token, broadcaster, broadcaster, part, reply_parent_message_id=parent
                        ),
                    )
                except HelixUnreachable as exc:
                    reason = self._failed(guild_id, "http_unreachable")
                    # Sent, with no answer: Twitch may have posted it, so it is not sent again.
                    if not exc.is_unsent:
                        return FateUnknown(reason)
                    return TryLater(reason) if number == 0 else reason
                except HelixError as exc:
                    reason = self._failed(guild_id, f"http_{exc.status or 'unreachable'}")
                    busy = exc.status == 429  # Twitch asks for time (a 5xx is a refusal)
                    wait = exc.retry_after if isinstance(exc, RateLimited) else None
                    return TryLater(reason, wait) if number == 0 and busy else reason
                except Exception as exc:  # no connection, a dead grant: nothing more to send
                    return self._failed(guild_id, type(exc).__name__)
                if not result.is_sent:
                    return self._failed(guild_id, f"dropped_{result.drop_reason_code or 'unknown'}")
        return None

    def _failed(self, guild_id: int, reason: str) -> str:
        log.warning("guild %s: a Twitch chat reply was not delivered (%s)", guild_id, reason)
        if self._failures is not None:
            self._failures.inc(platform="twitch", reason=reason[:40])
        return reason

    async def close(self) -> None:
        """Send what is queued (Twitch's own timeouts bound the wait)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
