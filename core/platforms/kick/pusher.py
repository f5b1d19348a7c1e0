"""Kick's unofficial Pusher socket: one asyncio connection (aiohttp) subscribed to every alias of a
streamer's chatroom and channel, publishing the events it reads.

Why this client and not pysher, the alias list and the rule that keeps Pusher and webhooks from
counting the same money twice: ``docs/pusher.md``. Frame parsing lives in
:mod:`core.platforms.kick.pusher_events`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import aiohttp

from core.events import ChatMessageSent, Event
from core.platforms.kick.pusher_arrivals import FirstArrivals
from core.platforms.kick.pusher_events import (
    PusherFrame,
    decode_frame,
    is_money_like,
)
from core.platforms.sockets import Ended, ReconnectingSocket, open_socket

log = logging.getLogger(__name__)

KICK_PUSHER_URL = "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0&flash=false"
# Pusher's own default, used until connection_established says otherwise, and the most we wait
# (pusher-js too takes the smaller of the server's value and its own 120 s).
DEFAULT_ACTIVITY_TIMEOUT_SECONDS = 120.0
# The least: a server that says 0.001 s must not have us pinging without a pause.
MIN_ACTIVITY_TIMEOUT_SECONDS = 5.0
PONG_TIMEOUT_SECONDS = 30.0
# Pusher asks clients to wait "at least 1 second" after a 4100-4199 close.
SHORT_WAIT_SECONDS = 1.0
# What a pusher:error message may add to a log line and to state.last_error.
MAX_REASON_CHARS = 300

Status = Literal["connecting", "connected", "backing_off", "refused", "stopped"]
Publish = Callable[[Event], Awaitable[None] | None]
T = TypeVar("T")


@dataclass(frozen=True)
class PusherChannels:
    """The internal Kick ids the socket needs (not the public API's ids, except the last)."""

    chatroom_id: int
    channel_id: int | None
    broadcaster_user_id: str

    def names(self) -> tuple[str, ...]:
        """Every alias; Kick spreads events over them and repeats some on several."""
        chatroom = self.chatroom_id
        names = [f"chatrooms.{chatroom}.v2", f"chatrooms.{chatroom}", f"chatroom_{chatroom}"]
        if self.channel_id is not None:
            names += [f"channel.{self.channel_id}", f"channel_{self.channel_id}"]
        return tuple(names)


@dataclass(frozen=True)
class PusherState:
    """``subscribed``: channels confirmed on the current connection. ``reconnects``: connection
    attempts after the first. ``last_error``: why the last connection ended, kept after a
    successful reconnect."""

    status: Status
    subscribed: tuple[str, ...] = ()
    last_event_at: datetime | None = None
    reconnects: int = 0
    last_error: str | None = None


@dataclass
class _Connection:
    activity_timeout: float = DEFAULT_ACTIVITY_TIMEOUT_SECONDS
    established_at: float | None = None
    subscribed: list[str] = field(default_factory=list)


class PusherListener(ReconnectingSocket[PusherState]):
    """See :class:`~core.platforms.sockets.ReconnectingSocket` for ``publish``, ``session`` and
    the backoff. ``webhooks_deliver(event)`` is asked on the event loop, so it must be cheap."""

    def __init__(
        self,
        url: str = KICK_PUSHER_URL,
        *,
        channel_ids: PusherChannels,
        publish: Publish,
        webhooks_deliver: Callable[[Event], bool],
        pong_timeout: float = PONG_TIMEOUT_SECONDS,
        min_activity_timeout: float = MIN_ACTIVITY_TIMEOUT_SECONDS,
        **options: Any,
    ) -> None:
        super().__init__(
            PusherState(status="stopped"),
            publish=publish,
            label="Kick Pusher",
            logger=log,
            **options,
        )
        self.url = url
        self.channel_ids = channel_ids
        self._webhooks_deliver = webhooks_deliver
        self._pong_timeout = pong_timeout
        self._min_activity_timeout = min_activity_timeout
        self._connection = _Connection()
        self._arrivals = FirstArrivals()  # a copy on another alias reads as the first

    @property
    def state(self) -> PusherState:
        return dataclasses.replace(self._state, subscribed=tuple(self._connection.subscribed))

    async def _connect_and_serve(
        self, session: aiohttp.ClientSession, queue: asyncio.Queue[Event]
    ) -> Ended:
        ws = await open_socket(session, self.url)
        if isinstance(ws, Ended):
            return ws
        async with ws:
            return await self._serve(ws, queue)

    def _connected_for(self, started: float) -> float:
        if self._connection.established_at is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._connection.established_at

    def _forget_connection(self) -> None:
        self._connection = _Connection()

    async def _serve(
        self, ws: aiohttp.ClientWebSocketResponse, queue: asyncio.Queue[Event]
    ) -> Ended:
        connection = self._connection
        is_awaiting_pong = False
        while True:
            timeout = self._pong_timeout if is_awaiting_pong else connection.activity_timeout
            try:
                message = await ws.receive(timeout=timeout)
            except TimeoutError:
                if is_awaiting_pong:
                    return Ended(f"no answer to pusher:ping within {timeout:g} s")
                await _send(ws, "pusher:ping")
                is_awaiting_pong = True
                continue
            is_awaiting_pong = False
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                ended = await self._handle(ws, message.data, queue)
                if ended is not None:
                    return ended
            elif message.type is aiohttp.WSMsgType.ERROR:
                return Ended(f"websocket error ({ws.exception()})")
            else:
                code = ws.close_code
                reason = f"connection closed (code {code})"
                return _ended_by_code(code, reason) or Ended(reason)

    async def _handle(
        self, ws: aiohttp.ClientWebSocketResponse, raw: str | bytes, queue: asyncio.Queue[Event]
    ) -> Ended | None:
        frame = decode_frame(raw)
        if frame is None:
            log.debug("Kick Pusher: ignoring an unreadable frame: %.200r", raw)
            return None
        if frame.event == "pusher:connection_established":
            await self._on_established(ws, frame)
        elif frame.event == "pusher_internal:subscription_succeeded":
            if frame.channel and frame.channel not in self._connection.subscribed:
                self._connection.subscribed.append(frame.channel)
        elif frame.event == "pusher:ping":
            await _send(ws, "pusher:pong")
        elif frame.event == "pusher:error":
            return _on_error(frame)
        elif frame.event == "pusher:subscription_error":
            log.warning("Kick Pusher: subscribing to %s failed: %.200s", frame.channel, frame.data)
        elif not frame.event.startswith(("pusher:", "pusher_internal:")):
            self._on_event(frame, queue)
        return None

    async def _on_established(
        self, ws: aiohttp.ClientWebSocketResponse, frame: PusherFrame
    ) -> None:
        data = frame.data or {}
        self._connection.activity_timeout = _activity_timeout(
            data.get("activity_timeout"), self._min_activity_timeout
        )
        self._connection.established_at = asyncio.get_running_loop().time()
        self._update(status="connected")
        names = self.channel_ids.names()
        log.info("Kick Pusher: connected; subscribing to %s", ", ".join(names))
        for name in names:
            await _send(ws, "pusher:subscribe", {"auth": "", "channel": name})

    def _on_event(self, frame: PusherFrame, queue: asyncio.Queue[Event]) -> None:
        now = datetime.now(UTC)
        # Frames named by when they came are read as of their first copy's arrival.
        event = self._arrivals.read(frame, self.channel_ids.broadcaster_user_id, now)
        if event is None:
            return
        # Only the guilds that chose this chatroom vouch for what it says (see Event).
        event = dataclasses.replace(event, via_chatroom_id=self.channel_ids.chatroom_id)
        self._update(last_event_at=now)
        if not self._should_publish(event):
            kind = "money-like event" if is_money_like(event) else "event"
            log.debug("Kick Pusher: webhooks deliver it; dropped %s %s", kind, event.key)
            return
        self._enqueue(event, queue)

    def _should_publish(self, event: Event) -> bool:
        """Pusher adds chat always (the bus dedupes it by message id against the webhook copy);
        any other event only when webhooks are not delivering its type for this broadcaster,
        since the two copies have different ids and would count twice.
        ``webhooks_deliver(event)`` is asked on the event loop, so it must be cheap."""
        if isinstance(event, ChatMessageSent):
            return True
        try:
            return not self._webhooks_deliver(event)
        except Exception:
            # Unknown: assume webhooks deliver it, since counting money twice is worse.
            log.exception("Kick Pusher: webhooks_deliver() failed; dropped %s", event.key)
            return False


async def _send(ws: aiohttp.ClientWebSocketResponse, event: str, data: Any = None) -> None:
    await ws.send_str(json.dumps({"event": event, "data": {} if data is None else data}))


def _activity_timeout(value: Any, minimum: float) -> float:
    """The seconds of quiet before we ping, from connection_established's ``activity_timeout``:
    kept between ``minimum`` and Pusher's default, and the default when it is not a positive
    number (missing, text, NaN). Bounded before ``float()``, which overflows on 1e400."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return DEFAULT_ACTIVITY_TIMEOUT_SECONDS
    return float(max(minimum, min(value, DEFAULT_ACTIVITY_TIMEOUT_SECONDS)))


def _on_error(frame: PusherFrame) -> Ended | None:
    data = frame.data or {}
    code = data.get("code")
    reason = _bounded(f"pusher:error {code}: {data.get('message')}")
    ended = _ended_by_code(code if isinstance(code, int) else None, reason)
    if ended is None:
        # Codeless errors (e.g. about one subscription) leave the connection open.
        log.warning("Kick Pusher: %.300s", reason)
    return ended


def _bounded(text: str) -> str:
    """``text`` cut to :data:`MAX_REASON_CHARS`, a lone surrogate made "?" so that it can be
    logged and shown in Discord."""
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return text.encode("utf-8", "replace").decode("utf-8")


def _ended_by_code(code: int | None, reason: str) -> Ended | None:
    """Pusher's close-code ranges: 4000-4099 do not reconnect (we do, after minutes: see
    :class:`~core.platforms.sockets.ReconnectingSocket`), 4100-4199 reconnect after a short
    wait, 4200-4299 reconnect with backoff. Other codes say nothing about reconnecting."""
    if code is None:
        return None
    if 4000 <= code <= 4099:
        return Ended(reason, is_refused=True)
    if 4100 <= code <= 4199:
        return Ended(reason, min_wait=SHORT_WAIT_SECONDS)
    if 4200 <= code <= 4299:
        return Ended(reason)
    return None


__all__ = [
    "KICK_PUSHER_URL",
    "PusherChannels",
    "PusherListener",
    "PusherState",
    "Status",
]
