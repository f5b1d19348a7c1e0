"""Live updates for open dashboard pages: Server-Sent Events at
``/dashboard/<guild_id>/live/<topic>`` (topics: ``vip``, ``events``, ``raffle``).

A stream says only "this topic changed" (event ``changed``, its id the topic's change number);
the page then fetches what it shows again (``static/live.js``). The numbers come from the
backend (core/features/live/backends.py), so they are the same in every web worker: a browser
that reconnects with ``Last-Event-ID`` gets ``changed`` at once if it missed a change, nothing
if it did not, and ``reload`` if its number is from a counter that has since started over.

Threads. waitress and gunicorn's gthread worker give each open stream a thread for as long as
it lasts. So a process admits at most ``live_max_streams`` streams (over it: 503 with
``Retry-After``; EventSource retries) and the server is given that many threads on top of
``WEB_THREADS`` (core/runtime.py, gunicorn.conf.py): a hundred open dashboards never take a
thread a webhook needs. A waiting stream costs no CPU: it sleeps on a condition until a change
or its 15 s heartbeat (a comment line, which also finds a closed connection). A stream ends after
``live_stream_seconds`` (the browser reconnects and resumes) and at shutdown (:meth:`close`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Flask, Response, abort, current_app, request

from core.features.live.changes import TOPICS
from core.web.dashboard.config import DashboardConfig

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000  # what EventSource waits before reconnecting
BUSY_RETRY_SECONDS = 10


class LiveHub:
    """This process's view of the change numbers, and its open streams."""

    def __init__(
        self,
        backend,  # type: ignore[no-untyped-def]
        max_streams: int,
        stream_seconds: float,
        heartbeat: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.max_streams = max_streams
        self.stream_seconds = stream_seconds
        self.heartbeat = heartbeat
        self.clock = clock
        self._cond = threading.Condition()
        self._latest: dict[tuple[int, str], int] = {}
        self._open = 0
        self._closed = False
        backend.listen(self._heard)

    @property
    def open_streams(self) -> int:
        return self._open

    def _heard(self, guild_id: int, topic: str, seq: int) -> None:
        with self._cond:
            if seq > self._latest.get((guild_id, topic), 0):
                self._latest[(guild_id, topic)] = seq
                self._cond.notify_all()

    def latest(self, guild_id: int, topic: str) -> int:
        with self._cond:
            known = self._latest.get((guild_id, topic))
        if known is None:
            self._heard(guild_id, topic, self.backend.latest(guild_id, topic))
        with self._cond:
            return self._latest.get((guild_id, topic), 0)

    def admit(self) -> bool:
        with self._cond:
            if self._closed or self._open >= self.max_streams:
                return False
            self._open += 1
            return True

    def release(self) -> None:
        with self._cond:
            self._open -= 1

    def close(self) -> None:
        """End every open stream now (the server is stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait(self, guild_id: int, topic: str, seen: int, timeout: float) -> int | None:
        """The topic's number once it passes ``seen``, or after ``timeout`` seconds whatever it
        is; None once the hub is closed (the stream must end)."""
        key = (guild_id, topic)
        with self._cond:
            self._cond.wait_for(
                lambda: self._closed or self._latest.get(key, 0) > seen,
                timeout=max(0.0, timeout),
            )
            return None if self._closed else self._latest.get(key, 0)

    def stream(self, guild_id: int, topic: str, last_id: int | None) -> Iterator[str]:
        ends = self.clock() + self.stream_seconds
        seen = self.latest(guild_id, topic)
        yield f"retry: {RETRY_MS}\n\n"
        if last_id is None:
            yield _event("ready", seen, topic)
        elif last_id < seen:
            yield _event("changed", seen, topic)  # what it missed: fetch the page part again
        elif last_id > seen:
            yield _event("reload", seen, topic)  # a number from before a restart
        while True:
            now = self.wait(guild_id, topic, seen, min(self.heartbeat, ends - self.clock()))
            if now is None:
                return
            if now > seen:
                seen = now
                yield _event("changed", seen, topic)
            elif self.clock() >= ends:
                return
            else:
                yield ": heartbeat\n\n"


def _event(name: str, seq: int, topic: str) -> str:
    return f"id: {seq}\nevent: {name}\ndata: {json.dumps({'topic': topic})}\n\n"


def last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_id")
    if raw is None or not raw.isascii() or not raw.isdecimal() or len(raw) > 18:
        return None
    return int(raw)


def event_stream(events: Callable[[LiveHub], Iterator[str]]) -> Response:
    """A Server-Sent Events answer with ``events(hub)``, counted against the process's bound on
    open streams (503 with ``Retry-After`` beyond it, or when this process hears no changes)."""
    hub: LiveHub | None = current_app.extensions.get("live")
    if hub is None or not hub.admit():
        busy = Response("Too many live pages open; retrying shortly.\n", 503)
        busy.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        busy.mimetype = "text/plain"
        return busy
    try:
        response = Response(events(hub), mimetype="text/event-stream")
    except BaseException:
        hub.release()
        raise
    response.call_on_close(hub.release)  # when the server is done with it, however it ended
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy must pass events on at once
    return response


def register(app: Flask, config: DashboardConfig, blueprints: set[str]) -> None:
    """The stream route, guarded like every guild page, and this process's hub."""
    from core.web.dashboard.guilds import require_login

    bp = Blueprint("guild_live", __name__, url_prefix="/dashboard/<id:guild_id>/live")
    bp.before_request(require_login)

    @bp.get("/<topic>")
    def stream(guild_id: int, topic: str):  # type: ignore[no-untyped-def]
        if topic not in TOPICS:
            abort(404)
        return event_stream(lambda hub: hub.stream(guild_id, topic, last_event_id()))

    app.register_blueprint(bp)
    blueprints.add(bp.name)
    if config.live_backend is not None and config.live_max_streams > 0:
        app.extensions["live"] = LiveHub(
            config.live_backend, config.live_max_streams, config.live_stream_seconds
        )
