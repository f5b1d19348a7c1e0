"""A loopback stand-in for Kick's Pusher socket (protocol 7, public channels only), on aiohttp.

Every connection gets ``pusher:connection_established`` at once and a
``pusher_internal:subscription_succeeded`` for each ``pusher:subscribe``. Frames go out in wire
format, ``data`` being a JSON-encoded string. What each client sent is recorded per connection.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

APP_KEY = "32cbd69e4b950bf97679"


@dataclass
class FakeConnection:
    ws: web.WebSocketResponse
    request: web.Request
    socket_id: str
    subscriptions: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    pings: int = 0  # pusher:ping frames from the client
    pongs: int = 0  # pusher:pong frames from the client

    @property
    def is_open(self) -> bool:
        return not self.ws.closed


class FakePusher:
    """``async with FakePusher() as pusher``: serves on 127.0.0.1 until the block ends.

    ``activity_timeout`` (seconds, may be fractional here) goes into connection_established;
    with ``answer_pings`` False the client's ``pusher:ping`` goes unanswered.
    """

    def __init__(self, *, activity_timeout: float = 120, answer_pings: bool = True) -> None:
        self.activity_timeout = activity_timeout
        self.answer_pings = answer_pings
        self.connections: list[FakeConnection] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def connection_count(self) -> int:
        return len(self.connections)

    @property
    def open_connections(self) -> list[FakeConnection]:
        return [connection for connection in self.connections if connection.is_open]

    async def __aenter__(self) -> FakePusher:
        app = web.Application()
        app.router.add_get("/app/{key}", self._serve)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = (
            f"ws://127.0.0.1:{port}/app/{APP_KEY}?protocol=7&client=js&version=8.4.0&flash=false"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close_all_connections(abrupt=True)
        if self._runner is not None:
            await self._runner.cleanup()

    async def broadcast(self, channel: str, event: str, data: Any) -> int:
        """Send an event to every connection subscribed to ``channel``; return how many.
        ``data`` that is not already a string is JSON-encoded, as Pusher does."""
        text = data if isinstance(data, str) else json.dumps(data)
        frame = json.dumps({"event": event, "data": text, "channel": channel})
        targets = [c for c in self.open_connections if channel in c.subscriptions]
        for connection in targets:
            await _send(connection, frame)
        return len(targets)

    async def send_raw(self, text: str) -> None:
        for connection in self.open_connections:
            await _send(connection, text)

    async def send_error(self, code: int, message: str, *, close: bool = True) -> None:
        """``pusher:error`` to every connection, then (as Pusher does) a close with that code."""
        frame = json.dumps({"event": "pusher:error", "data": {"code": code, "message": message}})
        for connection in self.open_connections:
            await _send(connection, frame)
            if close:
                await connection.ws.close(code=code, message=message.encode())

    async def close_all_connections(
        self, *, code: int = WSCloseCode.GOING_AWAY, abrupt: bool = False
    ) -> None:
        """Drop every connection: a websocket close with ``code``, or with ``abrupt`` the TCP
        connection just goes away."""
        for connection in self.open_connections:
            if abrupt:
                transport = connection.request.transport
                if transport is not None:
                    transport.abort()
            else:
                await connection.ws.close(code=code)

    async def ping_all(self) -> None:
        await self.send_raw(json.dumps({"event": "pusher:ping", "data": {}}))

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        number = len(self.connections) + 1
        connection = FakeConnection(ws=ws, request=request, socket_id=f"{number}.{number}")
        self.connections.append(connection)
        established = {"socket_id": connection.socket_id, "activity_timeout": self.activity_timeout}
        await _send(
            connection,
            json.dumps({"event": "pusher:connection_established", "data": json.dumps(established)}),
        )
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await self._on_frame(connection, message.data)
        return ws

    async def _on_frame(self, connection: FakeConnection, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        connection.received.append(frame)
        data = frame.get("data")
        if isinstance(data, str):
            with contextlib.suppress(ValueError):
                data = json.loads(data)
        data = data if isinstance(data, dict) else {}
        event = frame.get("event")
        if event == "pusher:subscribe":
            channel = str(data.get("channel"))
            connection.subscriptions.append(channel)
            reply = {"event": "pusher_internal:subscription_succeeded", "data": "{}"}
            await _send(connection, json.dumps({**reply, "channel": channel}))
        elif event == "pusher:unsubscribe":
            with contextlib.suppress(ValueError):
                connection.subscriptions.remove(str(data.get("channel")))
        elif event == "pusher:ping":
            connection.pings += 1
            if self.answer_pings:
                await _send(connection, json.dumps({"event": "pusher:pong", "data": {}}))
        elif event == "pusher:pong":
            connection.pongs += 1


async def _send(connection: FakeConnection, text: str) -> None:
    # A client may hang up between the check and the send; the fake does not care.
    with contextlib.suppress(ConnectionError, RuntimeError):
        await connection.ws.send_str(text)
