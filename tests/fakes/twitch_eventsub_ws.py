"""A loopback stand-in for Twitch's EventSub WebSocket (``/ws``), on aiohttp.

Every connection gets ``session_welcome`` at once (a new session, or, on a ``reconnect_url``,
the session it takes over), then ``session_keepalive`` whenever nothing else was sent for
``keepalive_seconds`` (unless ``send_keepalives`` is switched off). Tests push notifications,
revocations and ``session_reconnect`` with the methods below; frames use the shapes of
/work/shared/platforms/twitch/fixtures/websocket/ (copied in tests/fixtures/twitch/websocket/).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).parents[1] / "fixtures" / "twitch" / "websocket"
_ids = itertools.count(1)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeSocket:
    ws: web.WebSocketResponse
    request: web.Request
    session_id: str
    is_reconnect: bool
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)  # what the client sent (it must not)
    last_sent_at: float = 0.0

    @property
    def is_open(self) -> bool:
        return not self.ws.closed


class FakeEventSubWs:
    """``async with FakeEventSubWs() as twitch``: serves on 127.0.0.1 until the block ends."""

    def __init__(self, *, keepalive_seconds: int = 10, send_keepalives: bool = True) -> None:
        self.keepalive_seconds = keepalive_seconds
        self.send_keepalives = send_keepalives
        # Sent on the old socket when the new one connects, before the new one's welcome.
        self.during_switch: list[dict[str, Any]] = []
        # Close the old socket (4004) as the new one connects, before the new one's welcome,
        # rather than half a second after it: the close then reaches the client first.
        self.close_old_before_welcome = False
        self.sockets: list[FakeSocket] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._base = ""
        self._closing: set[asyncio.Future[bool]] = set()

    @property
    def open_sockets(self) -> list[FakeSocket]:
        return [socket for socket in self.sockets if socket.is_open]

    @property
    def current(self) -> FakeSocket:
        """The newest open socket: the one Twitch sends a session's events on."""
        return self.open_sockets[-1]

    async def __aenter__(self) -> FakeEventSubWs:
        app = web.Application()
        app.router.add_get("/ws", self._serve)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._base = f"ws://127.0.0.1:{port}"
        self.url = f"{self._base}/ws"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for socket in self.open_sockets:
            with contextlib.suppress(Exception):
                await socket.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for_sockets(self, count: int, seconds: float = 30.0) -> None:
        for _ in range(int(seconds / 0.005)):
            if len(self.sockets) >= count:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"{len(self.sockets)} connections, not {count}")

    async def notify(self, frame: dict[str, Any], socket: FakeSocket | None = None) -> None:
        """Send a notification (a fixture's frame) on ``socket`` (default: the current one),
        its subscription's session id set to that socket's."""
        target = socket or self.current
        frame = copy.deepcopy(frame)
        transport = frame.get("payload", {}).get("subscription", {}).get("transport")
        if isinstance(transport, dict):
            transport["session_id"] = target.session_id
        await _send(target, frame)

    async def revoke(self, status: str = "authorization_revoked", **subscription: Any) -> None:
        frame = fixture("revocation")
        frame["metadata"]["message_id"] = f"revocation-{next(_ids)}"
        frame["payload"]["subscription"].update(status=status, **subscription)
        await _send(self.current, frame)

    async def ask_to_reconnect(self) -> None:
        """``session_reconnect`` on the current socket, pointing at this server."""
        socket = self.current
        frame = fixture("session_reconnect")
        frame["metadata"]["message_id"] = f"reconnect-{next(_ids)}"
        frame["payload"]["session"]["id"] = socket.session_id
        frame["payload"]["session"]["reconnect_url"] = f"{self.url}?reconnect={socket.session_id}"
        await _send(socket, frame)

    async def drop_all(self) -> None:
        """Every TCP connection just goes away (no close frame)."""
        for socket in self.open_sockets:
            if socket.request.transport is not None:
                socket.request.transport.abort()

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        taken_over = request.query.get("reconnect")
        old = [s for s in self.open_sockets if taken_over and s.session_id == taken_over]
        session_id = taken_over if old else f"session-{next(_ids)}"
        socket = FakeSocket(ws, request, session_id, is_reconnect=bool(old))
        self.sockets.append(socket)
        for frame in self.during_switch if old else ():
            await self.notify(frame, old[0])
        if old and self.close_old_before_welcome:
            await old[0].ws.close(code=4004)
        welcome = fixture("session_welcome")
        welcome["metadata"]["message_id"] = f"welcome-{next(_ids)}"
        welcome["payload"]["session"].update(
            id=session_id,
            keepalive_timeout_seconds=self.keepalive_seconds,
            connected_at=now_text(),
        )
        await _send(socket, welcome)
        if old:
            # Twitch closes the old socket once the new one is welcomed.
            asyncio.get_running_loop().call_later(0.5, self._close_soon, old[0])
        keepalives = asyncio.create_task(self._keep_alive(socket))
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    socket.received.append(str(message.data))
        finally:
            keepalives.cancel()
        return ws

    def _close_soon(self, socket: FakeSocket) -> None:
        if socket.is_open:
            task = asyncio.ensure_future(socket.ws.close(code=4004))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _keep_alive(self, socket: FakeSocket) -> None:
        loop = asyncio.get_running_loop()
        while socket.is_open:
            await asyncio.sleep(self.keepalive_seconds / 4)
            quiet = loop.time() - socket.last_sent_at >= self.keepalive_seconds
            if self.send_keepalives and quiet:
                frame = fixture("session_keepalive")
                frame["metadata"]["message_id"] = f"keepalive-{next(_ids)}"
                await _send(socket, frame)


async def _send(socket: FakeSocket, frame: dict[str, Any]) -> None:
    socket.last_sent_at = asyncio.get_running_loop().time()
    socket.sent.append(frame)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await socket.ws.send_str(json.dumps(frame))
