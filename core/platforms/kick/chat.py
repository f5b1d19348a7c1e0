"""The bot's messages into Kick chats: one queue and one worker per channel.

``send`` only queues. Each channel's worker posts its messages in order and exits when its queue
is empty, so a slow or failing channel never holds up another and idle channels cost nothing.
Every post to a channel (a retry's too) takes a slot of the window ``kick:chat:<broadcaster>``
(``core/ratelimits/``: one post per ``min_interval_seconds``, counted from when the previous one
landed, across every bot process when the windows are Redis's).

A message goes out as ``type="bot"`` with the streamer's token (Kick's BOT account, into the token
owner's channel). When that is refused for a lasting reason (the streamer must connect again, no
BOT exists for the app, a missing scope, a server error) and a bot user token is configured, it
goes out as ``type="user"`` from the bot's own Kick account instead. Rate limiting and a Kick
that cannot be reached are retried a few times and never fall back: the other way hits the same
Kick. A post that reached Kick but got no answer (timed out, connection dropped, or a success
that does not name the message posted) is neither retried nor sent the other way, as Kick may
have posted it: the message is given up on, and :meth:`KickChatSender.deliver_now` says so
with a :class:`FateUnknown`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from core.metrics import Counter
from core.outbox import deadline
from core.platforms.chat import OutgoingMessage, SplittingChatSender
from core.platforms.http import FateUnknown, TryLater
from core.platforms.kick.api import (
    MAX_CHAT_LENGTH,
    Forbidden,
    KickApi,
    KickApiError,
    KickUnreachable,
    NotFound,
    RateLimited,
    Unauthorized,
)
from core.platforms.kick.oauth_client import NeedsReauthorization, OAuthError
from core.ratelimits import Limit, MemoryWindows, Windows

log = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = 2.0  # before the first retry; doubled before each next one
MAX_RETRY_DELAY_SECONDS = 30.0  # a longer Retry-After gives up instead of holding the channel
MAX_QUEUED_PER_CHANNEL = 100
PREVIEW_LENGTH = 50

StreamerCall = Callable[[int, Callable[[str], Awaitable[str]]], Awaitable[str]]
ChatType = Literal["bot", "user"]


NO_CONSENT = "needs_reauthorization"  # no streamer connection: never connected, or revoked


@dataclass(frozen=True)
class _Failure:
    reason: str  # a metric label: a short, fixed word
    detail: str
    may_fall_back: bool
    may_have_posted: bool = False  # Kick got the post but no answer came back
    retry_after: float | None = None  # Kick asked for this long (a 429's Retry-After)


class KickChatSender(SplittingChatSender):
    """Implements :class:`core.features.chat_commands.ports.ChatSender` for Kick.

    ``streamer_call`` is :meth:`KickConnections.call_as_streamer`. ``bot_user_token`` is an access
    token (with ``chat:write``) of the bot's own Kick account, for the ``type="user"`` fallback.
    Where no streamer has connected (or the connection was revoked), that account speaks only
    for ``operator_guild_id``, the server the operator set ``KICK_CHANNEL`` for: any other
    server's admin could name any channel in ``!kick setup``, and its streamer never agreed to
    hear the bot.
    ``max_attempts`` counts tries of one request when Kick rate-limits or cannot be reached.
    ``windows``: the runtime's shared windows (without them, windows of this sender's own, on
    ``clock`` and ``sleep``).
    """

    platform = "Kick"
    max_length = MAX_CHAT_LENGTH

    def __init__(
        self,
        api: KickApi,
        *,
        streamer_call: StreamerCall,
        bot_user_token: str | None,
        operator_guild_id: int | None = None,
        failures: Counter | None = None,
        min_interval_seconds: float = 1.0,
        max_attempts: int = 3,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        windows: Windows | None = None,
    ) -> None:
        self._api = api
        self._streamer_call = streamer_call
        self._bot_user_token = bot_user_token or None
        self._operator_guild_id = operator_guild_id
        self._failures = failures
        self._pace = Limit(1, max(0.001, min_interval_seconds))
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._windows = windows if windows is not None else MemoryWindows(clock, sleep)
        self._queues: dict[str, deque[OutgoingMessage]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._is_closed = False

    def _queue(self, message: OutgoingMessage) -> None:
        try:
            self._enqueue(message)
        except Exception:
            log.exception(
                "Kick chat: could not queue a message for guild %s, channel %s",
                message.guild_id,
                message.broadcaster_user_id,
            )
            self._count("error")

    async def _deliver_now(self, message: OutgoingMessage) -> str | None:
        """Paced per channel, retried and falling back as queued messages are; what stopped it
        is ``reason: detail``."""
        try:
            return await self._post_parts(message, tried_later=True)
        except Exception as exc:
            log.exception("Kick chat: unexpected error sending to guild %s", message.guild_id)
            self._count("error")
            return f"error: {type(exc).__name__}"

    async def flush(self) -> None:
        """Wait until every queued message was sent or given up on."""
        while self._workers:
            await asyncio.wait(list(self._workers.values()))

    async def close(self) -> None:
        """Refuse new messages, send the queued ones, then stop."""
        self._is_closed = True
        try:
            await self.flush()
        finally:
            workers = list(self._workers.values())
            for worker in workers:
                worker.cancel()
            if workers:
                await asyncio.wait(workers)

    # Queueing

    def _enqueue(self, message: OutgoingMessage) -> None:
        channel = message.broadcaster_user_id
        if self._is_closed:
            self._give_up(message, _Failure("closed", "the sender is shut down", False), sent=0)
            return
        queue = self._queues.setdefault(channel, deque())
        if len(queue) >= MAX_QUEUED_PER_CHANNEL:
            why = f"{len(queue)} messages already wait for this channel"
            self._give_up(message, _Failure("queue_full", why, False), sent=0)
            return
        queue.append(message)
        if channel not in self._workers:
            self._workers[channel] = asyncio.get_running_loop().create_task(
                self._work(channel), name=f"kick-chat-{channel}"
            )

    async def _work(self, channel: str) -> None:
        queue = self._queues[channel]
        try:
            while queue:
                await self._deliver(queue.popleft())
        finally:
            # Nothing awaits between the empty check and here, so a message queued meanwhile
            # always finds either this worker running or no worker (and starts one).
            self._workers.pop(channel, None)
            if not queue:
                self._queues.pop(channel, None)

    # Delivery

    async def _deliver(self, message: OutgoingMessage) -> None:
        try:
            await self._post_parts(message)
        except Exception:
            log.exception(
                "Kick chat: unexpected error sending to guild %s, channel %s (text %r)",
                message.guild_id,
                message.broadcaster_user_id,
                _preview(message.parts[0]),
            )
            self._count("error")

    async def _post_parts(
        self, message: OutgoingMessage, *, tried_later: bool = False
    ) -> str | None:
        """Every part in order; what stopped it. ``tried_later``: the caller (the chat outbox)
        tries a :class:`TryLater` again, so that is no giving up."""
        user_token: str | None = None  # None: as the bot, with the streamer's token
        for index, part in enumerate(message.parts):
            reply_to = message.reply_to_message_id if index == 0 else None
            failure = await self._post(message, part, reply_to, user_token)
            if failure is not None and user_token is None and self._may_fall_back(failure, message):
                log.info(
                    "Kick chat: guild %s, channel %s: bot message refused (%s); sending as the "
                    "bot user",
                    message.guild_id,
                    message.broadcaster_user_id,
                    failure.detail,
                )
                user_token = self._bot_user_token  # for the rest of the message: one sender
                bot_failure = failure
                failure = await self._post(message, part, reply_to, user_token)
                if failure is not None:
                    failure = _Failure(
                        failure.reason, f"bot: {bot_failure.detail}; user: {failure.detail}", False
                    )
            if failure is not None:
                stopped = f"{failure.reason}: {failure.detail}"
                later = not failure.may_have_posted and index == 0 and failure.reason in TRANSIENT
                if later and tried_later:  # nothing went out: the outbox says it later
                    self._put_off(message, failure)
                    return TryLater(stopped, failure.retry_after)
                self._give_up(message, failure, sent=index)
                if failure.may_have_posted:
                    return FateUnknown(stopped)
                return TryLater(stopped, failure.retry_after) if later else stopped
        return None

    def _may_fall_back(self, failure: _Failure, message: OutgoingMessage) -> bool:
        if failure.reason == NO_CONSENT and message.guild_id != self._operator_guild_id:
            return False
        return failure.may_fall_back and self._bot_user_token is not None

    async def _post(
        self, message: OutgoingMessage, part: str, reply_to: str | None, user_token: str | None
    ) -> _Failure | None:
        """One part, as the bot or (with ``user_token``) as that user, tried up to
        ``max_attempts`` times. Returns the failure that stopped it, if any."""
        chat_type: ChatType = "bot" if user_token is None else "user"

        async def post(token: str) -> str:
            async with self._windows.slot(f"kick:chat:{message.broadcaster_user_id}", self._pace):
                return await self._api.send_chat(
                    token,
                    part,
                    type=chat_type,
                    broadcaster_user_id=message.broadcaster_user_id if user_token else None,
                    reply_to_message_id=reply_to,
                )

        attempt = 1
        while True:
            try:
                if user_token is None:
                    await self._streamer_call(message.guild_id, post)
                else:
                    await post(user_token)
            except NeedsReauthorization:
                return _Failure(NO_CONSENT, "the streamer must connect again", True)
            except OAuthError as exc:
                detail = f"the streamer token could not be refreshed ({exc.error})"
                return _Failure("token_refresh", self._scrub(detail), True)
            except (RateLimited, KickUnreachable) as exc:
                failure = self._failure(exc)
                if isinstance(exc, KickUnreachable) and not exc.is_unsent:
                    # Kick got it and may have posted it: never again, nor the other way.
                    return _Failure("no_answer", failure.detail, False, may_have_posted=True)
                delay = self._retry_delay(attempt, exc)
                if attempt >= self._max_attempts or delay is None or not deadline.allows(delay):
                    return failure
                log.debug(
                    "Kick chat: guild %s, channel %s: %s; retry in %.1f s",
                    message.guild_id,
                    message.broadcaster_user_id,
                    failure.detail,
                    delay,
                )
                await self._sleep(delay)
                attempt += 1
            except KickApiError as exc:
                return self._failure(exc)
            else:
                return None

    def _retry_delay(self, attempt: int, exc: KickApiError) -> float | None:
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if retry_after is not None:
            return retry_after if retry_after <= MAX_RETRY_DELAY_SECONDS else None
        return min(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS)

    def _failure(self, exc: KickApiError) -> _Failure:
        is_transient = isinstance(exc, RateLimited | KickUnreachable)
        wait = exc.retry_after if isinstance(exc, RateLimited) else None
        return _Failure(_reason(exc), self._scrub(str(exc)), not is_transient, retry_after=wait)

    def _scrub(self, text: str) -> str:
        if self._bot_user_token:
            text = text.replace(self._bot_user_token, "[token]")
        return text[:200]

    # Giving up

    def _give_up(self, message: OutgoingMessage, failure: _Failure, *, sent: int) -> None:
        progress = f" after {sent} of {len(message.parts)} parts" if sent else ""
        log.warning(
            "Kick chat: gave up on a message for guild %s, channel %s%s (%s: %s); text %r",
            message.guild_id,
            message.broadcaster_user_id,
            progress,
            failure.reason,
            failure.detail,
            _preview(message.parts[0]),
        )
        self._count(failure.reason)

    def _put_off(self, message: OutgoingMessage, failure: _Failure) -> None:
        log.info(
            "Kick chat: a message for guild %s, channel %s waits for a later try (%s: %s)",
            message.guild_id,
            message.broadcaster_user_id,
            failure.reason,
            failure.detail,
        )
        self._count(failure.reason)

    def _count(self, reason: str) -> None:
        if self._failures is not None:
            self._failures.inc(platform="kick", reason=reason)


# Kick asked for time, or was not reached: it may take the line later. (A server error is a
# lasting refusal, as for queued messages.)
TRANSIENT = ("rate_limited", "unreachable")


def _reason(exc: KickApiError) -> str:
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, KickUnreachable):
        return "unreachable"
    if isinstance(exc, Unauthorized):
        return "unauthorized"
    if isinstance(exc, Forbidden):
        return "forbidden"
    if isinstance(exc, NotFound):
        return "not_found"
    if exc.status is not None and exc.status >= 500:
        return "server_error"
    if exc.status is not None and exc.status < 400:
        return "not_sent"  # Kick answered OK without sending
    return "rejected"


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_LENGTH else text[:PREVIEW_LENGTH] + "…"


__all__ = ["KickChatSender"]
