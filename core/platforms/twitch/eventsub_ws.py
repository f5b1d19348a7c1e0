"""Twitch's EventSub WebSocket: one asyncio connection (aiohttp) per broadcaster, subscribed
through a callback the caller gives, publishing the events it reads.

The session's life, as Twitch describes it (docs/twitch.md, "EventSub over WebSocket"):
connect, wait for ``session_welcome``, create the subscriptions with the session id (Twitch
closes an unused socket after its keepalive window, 10 s by default), then read. When neither a
keepalive nor a notification arrives within ``keepalive_timeout_seconds`` plus a grace, the
connection is dead: reconnect with backoff and subscribe again (a lost session takes its
subscriptions with it). ``session_reconnect`` is different: open the URL it gives, keep reading
the old socket until the new one says welcome, then close the old one; the subscriptions carry
over, so nothing is created again. Frame parsing lives in
:mod:`core.platforms.twitch.eventsub_frames`; a message over its ``MAX_FRAME_BYTES`` is skipped,
one over ``MAX_MESSAGE_BYTES`` (16 MiB) ends the connection (aiohttp closes it with 1009).

A notification's event is published to the bus, whose event keys dedupe a copy that arrived
twice (over both sockets during a switch, or over a webhook too). An event whose id is only the
message id (a subscription, a gift, a VIP change: no id of their own) would have another id
over a webhook, so it is passed on only while webhooks do not deliver its type
(``webhooks_deliver``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from core.events import Event
from core.platforms.sockets import Ended, ReconnectingSocket, open_socket
from core.platforms.twitch.eventsub_frames import (
    MAX_MESSAGE_BYTES,
    NOTIFICATION,
    RECONNECT,
    REVOCATION,
    WELCOME,
    WsFrame,
    WsSession,
    decode_frame,
    event_of,
    revocation_of,
    session_of,
)
from core.platforms.twitch.webhook import Revocation

log = logging.getLogger(__name__)

EVENTSUB_WS_URL = "wss://eventsub.wss.twitch.tv/ws"
WELCOME_TIMEOUT_SECONDS = 15.0
SUBSCRIBE_TIMEOUT_SECONDS = 30.0
DEFAULT_KEEPALIVE_SECONDS = 10.0  # Twitch's default, used when the welcome names none
KEEPALIVE_GRACE_SECONDS = 5.0  # network slack on top of the keepalive window
RECONNECT_TIMEOUT_SECONDS = 30.0  # Twitch closes the old socket 30 s after session_reconnect
# After the new socket's welcome, the old one is read this long more: a notification Twitch
# sent on it just before switching still arrives.
OLD_SOCKET_DRAIN_SECONDS = 1.0

Status = Literal["connecting", "subscribing", "connected", "reconnecting", "backing_off", "stopped"]
Subscribe = Callable[[str], Awaitable[object]]
Publish = Callable[[Event], object]


@dataclass(frozen=True)
class EventSubState:
    """``session_id``: the live session's. ``reconnects``: connection attempts after the first
    (a ``session_reconnect`` switch is not one). ``revoked``: the subscription types Twitch
    revoked on this session. ``refused``: the types Twitch refused to subscribe on the last
    session subscribed, each with its answer. ``last_error``: why the last connection ended.
    ``subscribed_at``: when the live session's subscriptions were made."""

    status: Status
    session_id: str | None = None
    last_event_at: datetime | None = None
    reconnects: int = 0
    last_error: str | None = None
    revoked: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    subscribed_at: datetime | None = None


class _Sockets:
    """The sockets of one session (two during a switch), each read by its own task into one
    inbox, so frames of both are handled in the order they arrive."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.inbox: asyncio.Queue[tuple[aiohttp.ClientWebSocketResponse, Any]] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def open(self, url: str) -> aiohttp.ClientWebSocketResponse | Ended:
        ws = await open_socket(self.session, url, max_msg_size=MAX_MESSAGE_BYTES)
        if isinstance(ws, Ended):
            return ws
        self.sockets.append(ws)
        self.tasks.append(asyncio.create_task(self._read(ws)))
        return ws

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in ws:
                await self.inbox.put((ws, message))
        except (aiohttp.ClientError, OSError) as exc:
            log.debug("Twitch EventSub: a socket failed: %s", exc)
        finally:
            await self.inbox.put((ws, None))  # None: this socket ended

    def retire(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async def close_later() -> None:
            await asyncio.sleep(OLD_SOCKET_DRAIN_SECONDS)
            await ws.close()

        self.tasks.append(asyncio.create_task(close_later()))

    async def close_all(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=5.0)


class EventSubSocket(ReconnectingSocket[EventSubState]):
    def __init__(
        self,
        url: str = EVENTSUB_WS_URL,
        *,
        subscribe: Subscribe,
        publish: Publish,
        record_revocation: Callable[[Revocation], object] = lambda _revocation: None,
        webhooks_deliver: Callable[[str, Event], bool] = lambda _type, _event: False,
        name: str = "",
        keepalive_grace: float = KEEPALIVE_GRACE_SECONDS,
        **options: Any,
    ) -> None:
        """``subscribe(session_id)`` creates the subscriptions on a new session (raising ends
        the connection, which is then tried again with backoff); it may return the types
        Twitch refused (type -> why), kept in the state's ``refused``. ``record_revocation`` is run
        in a thread; it returns False for a stale revocation (logged there), which is not warned
        of here. ``webhooks_deliver(subscription_type, event)`` is asked on the loop, so it
        must be cheap. See :class:`~core.platforms.sockets.ReconnectingSocket` for ``publish``,
        ``session`` and the backoff."""
        super().__init__(
            EventSubState(status="stopped"),
            publish=publish,
            label=f"Twitch EventSub {name}",
            logger=log,
            **options,
        )
        self.url = url
        self.name = name
        self._subscribe = subscribe
        self._record_revocation = record_revocation
        self._webhooks_deliver = webhooks_deliver
        self._keepalive_grace = keepalive_grace

    async def _connect_and_serve(
        self, session: aiohttp.ClientSession, queue: asyncio.Queue[Event]
    ) -> Ended:
        sockets = _Sockets(session)
        try:
            ws = await sockets.open(self.url)
            if isinstance(ws, Ended):
                return ws
            welcome = await self._welcome(sockets, ws)
            if isinstance(welcome, Ended):
                return welcome
            self._update(
                status="subscribing", session_id=welcome.id, revoked=(), subscribed_at=None
            )
            try:
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    answer = await self._subscribe(welcome.id)
            except Exception as exc:
                return Ended(f"subscribing failed ({type(exc).__name__}: {exc})")
            refused = dict(answer) if isinstance(answer, Mapping) else {}
            self._update(
                status="connected",
                refused=tuple(sorted(refused.items())),
                subscribed_at=datetime.now(UTC),
            )
            log.info("Twitch EventSub %s: connected and subscribed", self.name)
            return await self._serve(sockets, ws, welcome, queue)
        finally:
            await sockets.close_all()

    def _connected_for(self, started: float) -> float:
        if self._state.status != "connected":
            return 0.0
        return asyncio.get_running_loop().time() - started

    def _forget_connection(self) -> None:
        self._update(session_id=None)

    async def _welcome(
        self, sockets: _Sockets, ws: aiohttp.ClientWebSocketResponse
    ) -> WsSession | Ended:
        try:
            async with asyncio.timeout(WELCOME_TIMEOUT_SECONDS):
                while True:
                    _, message = await sockets.inbox.get()
                    if message is None:
                        return Ended(f"connection closed before the welcome (code {ws.close_code})")
                    frame = _frame_of(message)
                    if frame is not None and frame.message_type == WELCOME:
                        welcome = session_of(frame)
                        if welcome is not None:
                            return welcome
        except TimeoutError:
            return Ended(f"no session_welcome within {WELCOME_TIMEOUT_SECONDS:g} s")

    async def _serve(
        self,
        sockets: _Sockets,
        current: aiohttp.ClientWebSocketResponse,
        welcome: WsSession,
        queue: asyncio.Queue[Event],
    ) -> Ended:
        loop = asyncio.get_running_loop()
        keepalive = float(welcome.keepalive_timeout_seconds or DEFAULT_KEEPALIVE_SECONDS)
        pending: aiohttp.ClientWebSocketResponse | None = None
        pending_deadline = 0.0
        while True:
            timeout = keepalive + self._keepalive_grace
            if pending is not None:
                timeout = max(min(timeout, pending_deadline - loop.time()), 0.0)
            try:
                # Not asyncio.wait_for: on Python 3.11 it returns a frame that arrives as the
                # task is cancelled and drops the cancellation, so a stop could wait forever.
                async with asyncio.timeout(timeout):
                    source, message = await sockets.inbox.get()
            except TimeoutError:
                if pending is not None and loop.time() >= pending_deadline:
                    return Ended("the reconnect URL sent no session_welcome in time")
                return Ended(f"no keepalive or notification within {timeout:g} s")
            if message is None:
                if source is pending:
                    return Ended(f"the reconnect socket closed (code {source.close_code})")
                if source is current and pending is None:
                    return Ended(f"connection closed (code {source.close_code})")
                # A retired socket, closing as it should; or the old one, which Twitch may
                # close as it welcomes the new one: that welcome is still on its way.
                continue
            frame = _frame_of(message)
            if frame is None:
                continue
            if source is pending:
                if frame.message_type == WELCOME and (switched := session_of(frame)):
                    sockets.retire(current)
                    current, pending = pending, None
                    keepalive = float(switched.keepalive_timeout_seconds or keepalive)
                    self._update(status="connected", session_id=switched.id)
                    log.info("Twitch EventSub %s: switched to the new socket", self.name)
                continue
            if frame.message_type == NOTIFICATION:
                self._on_notification(frame, queue)
            elif frame.message_type == REVOCATION:
                await self._on_revocation(frame)
            elif frame.message_type == RECONNECT and source is current and pending is None:
                reconnect = session_of(frame)
                if reconnect is None or reconnect.reconnect_url is None:
                    return Ended("session_reconnect without a usable reconnect_url")
                opened = await sockets.open(reconnect.reconnect_url)
                if isinstance(opened, Ended):
                    return Ended(f"reconnect URL: {opened.reason}")
                pending, pending_deadline = opened, loop.time() + RECONNECT_TIMEOUT_SECONDS
                self._update(status="reconnecting")

    def _on_notification(self, frame: WsFrame, queue: asyncio.Queue[Event]) -> None:
        received_at = datetime.now(UTC)
        event = event_of(frame, received_at=received_at)
        if event is None:
            log.debug("Twitch EventSub %s: no event in %s", self.name, frame.subscription_type)
            return
        self._update(last_event_at=received_at)
        if not self._should_publish(frame, event):
            log.debug("Twitch EventSub %s: webhooks deliver it; dropped %s", self.name, event.key)
            return
        self._enqueue(event, queue)

    def _should_publish(self, frame: WsFrame, event: Event) -> bool:
        """An event with an id of its own has the same key over a webhook (the bus dedupes
        it); one keyed by the message id would not, so it waits for webhooks to stop."""
        if event.event_id != frame.message_id:
            return True
        try:
            return not self._webhooks_deliver(frame.subscription_type, event)
        except Exception:
            # Unknown: assume webhooks deliver it, since counting a gift twice is worse.
            log.exception("Twitch EventSub: webhooks_deliver() failed; dropped %s", event.key)
            return False

    async def _on_revocation(self, frame: WsFrame) -> None:
        revocation = revocation_of(frame, received_at=datetime.now(UTC))
        if revocation is None:
            return
        try:
            is_news = await asyncio.to_thread(self._record_revocation, revocation)
        except Exception:
            log.exception("Twitch EventSub %s: recording a revocation failed", self.name)
            is_news = True
        if is_news is False:  # of a subscription replaced since: logged (info) where decided
            return
        self._update(revoked=(*self._state.revoked, revocation.subscription_type))
        log.warning(
            "Twitch EventSub %s: Twitch revoked %s (%s): %s",
            self.name,
            revocation.subscription_type,
            revocation.subscription_id,
            revocation.status,
        )


def _frame_of(message: aiohttp.WSMessage) -> WsFrame | None:
    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        return None
    return decode_frame(message.data)


__all__ = ["EVENTSUB_WS_URL", "EventSubSocket", "EventSubState", "Status", "Subscribe"]
