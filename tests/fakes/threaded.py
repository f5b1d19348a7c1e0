"""What the fake platforms (``kick_server.py``, ``twitch_server.py``) share: aiohttp served on
127.0.0.1 from its own thread and event loop, so sync and async tests use a fake alike, and the
small helpers their OAuth routes use. The small fakes on the standard library's HTTP server
(``shuffle_server.py``, ``streamelements_server.py``, ``beacon_server.py``) share
:class:`StdlibServer`; both kinds start and stop with ``with``.

A subclass names itself (``NAME``, ``THREAD``) and gives its routes (``_routes``) and its
``_middleware``; ``start``/``stop`` (or ``with``) run it, and ``url`` is where it listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web


class _Lifecycle:
    """``with fake:`` starts it and stops it, whatever ``start`` and ``stop`` do."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class ThreadedServer(_Lifecycle):
    NAME: ClassVar[str]  # "FakeKick": in the errors
    THREAD: ClassVar[str]  # "fake-kick": the thread's name

    url = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _startup_error: BaseException | None = None

    def _routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    _middleware: Any  # an aiohttp middleware (a method decorated with ``web.middleware``)

    # Lifecycle

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self.NAME} is already running")
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=self.THREAD, daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError(f"{self.NAME} did not start within 10 s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"{self.NAME} could not start") from self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except Exception as exc:
            self._startup_error = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            # A handler still pending (a hung request the test never released) is cancelled and
            # waited for, as asyncio.run does: else the garbage collector finds it later, in
            # another test, and asyncio logs "Task was destroyed but it is pending!" there.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self._routes())
        # No access log: a revoke's request line carries a token, and tests check logs for
        # tokens.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"


def redirect(redirect_uri: str, **params: str) -> web.Response:
    """A 302 back to ``redirect_uri`` with ``params`` added to its query (an OAuth callback)."""
    parts = urlsplit(redirect_uri)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return web.Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


async def json_or_none(request: web.Request) -> Any:
    """The request's JSON body, or None when it has none or it is not JSON."""
    if request.content_type != "application/json" or not request.body_exists:
        return None
    with contextlib.suppress(ValueError):
        return await request.json()
    return None


class StdlibServer(_Lifecycle):
    """A fake on the standard library's threading HTTP server, on 127.0.0.1 in a thread of its
    own. A subclass's ``start`` builds its request handler class and calls :meth:`_serve`."""

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _address = ""  # kept after stop: a test may check that the stopped fake no longer answers

    def _serve(self, handler: type[BaseHTTPRequestHandler], name: str) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        host, port = self._server.server_address[:2]
        self._address = f"http://{host}:{port}"
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
            name=name,
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def _origin(self) -> str:
        assert self._address, "start the fake first"
        return self._address

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None


class Serving(StdlibServer):
    """A test's own request handler served as a fake (``with Serving(handler) as server:``,
    then ``server.url``), for a test whose partner is one odd answer."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str = "test-partner") -> None:
        self._handler, self._name = handler, name

    def start(self) -> Self:
        return self._serve(self._handler, self._name)

    @property
    def url(self) -> str:
        return self._origin
