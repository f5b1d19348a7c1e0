"""Live updates for open dashboard pages and overlays: Server-Sent Events.

Routes: ``/dashboard/<guild_id>/live/<topic>`` (topics: ``vip``, ``events``, ``raffle``), one
topic per stream; ``/live`` (core/web/dashboard/live_mux.py), one stream carrying several
subscriptions (the pages, previews and overlays a browser has open), which every tab of a browser
shares (static/live-link.js); and the overlays' ``/overlay/<token>/events`` (core/web/overlays/).

A dashboard topic says only "this topic changed" (event ``changed``, its id the topic's change
number); the page then fetches what it shows again. The numbers come from the backend
(core/features/live/backends.py), so they are the same in every web worker: a browser that
reconnects with ``Last-Event-ID`` gets ``changed`` at once if it missed a change, nothing if it
did not, and ``reload`` if its number is from a counter that has since started over. An open
stream whose counter starts over under it gets ``changed`` with the new, lower number: any
number that differs from the one it saw wakes it.

Threads. waitress and gunicorn's gthread worker give each open stream a thread for as long as
it lasts. So a process admits at most ``LIVE_MAX_STREAMS`` streams, and fewer per overlay link,
per server and per client address (core/web/dashboard/live_admission.py; those three are
counted across every web process when there is Redis, core/web/dashboard/live_shared_caps.py;
over a cap: 429 with ``Retry-After``), and the server is given that many threads on top of
``WEB_THREADS`` (core/runtime.py, gunicorn.conf.py): a hundred open dashboards never take a
thread a webhook needs. A waiting stream costs no CPU: it sleeps on a condition until a
change or its 15 s heartbeat (a comment line, which also finds a closed connection). A stream
ends after ``live_stream_seconds`` (the browser reconnects and resumes), when a newer stream
replaces or displaces it, and at shutdown (:meth:`LiveHub.close`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, abort, current_app, request

from core.features.live.changes import TOPICS
from core.ownership.share import process_name
from core.web.dashboard.config import DashboardConfig
from core.web.dashboard.live_admission import Admissions, LiveCaps, Refusal, Ticket
from core.web.dashboard.live_shared_caps import RENEW_SECONDS, SharedCaps

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000  # what EventSource waits before reconnecting
BUSY_RETRY_SECONDS = 10
Key = tuple[int, str]  # (guild id, topic): what a stream waits on
Mark = tuple[int, int]  # (how often the topic's number moved in this process, the number)
Event = tuple[str, dict[str, Any], int | None]  # (name, data, id)


class Subscription(Protocol):
    """One thing a stream follows: a guild's topic, or an overlay."""

    label: str  # how the browser names it on a shared stream
    key: Key

    def opening(self, seen: int) -> list[Event]:
        """What to send first, the topic's number being ``seen``."""

    def changed(self, seq: int) -> list[Event]:
        """What to send once the topic's number reached ``seq``."""

    def still_open(self) -> bool:
        """False once the stream must stop serving it (an overlay's rotated token)."""

    def idle(self) -> list[Event]:
        """What to send at a heartbeat when nothing was heard (what the hub is not told of)."""


class TopicSubscription:
    """A dashboard page part: ``ready``, ``changed`` or ``reload``, each with the number."""

    def __init__(self, guild_id: int, topic: str, last_id: int | None) -> None:
        self.key = (guild_id, topic)
        self.label = f"d:{guild_id}:{topic}"
        self.last_id = last_id

    def opening(self, seen: int) -> list[Event]:
        data = {"topic": self.key[1]}
        if self.last_id is None:
            return [("ready", data, seen)]
        if self.last_id < seen:
            return [("changed", data, seen)]  # what it missed: fetch the page part again
        if self.last_id > seen:
            return [("reload", data, seen)]  # a number from before a restart
        return []

    def changed(self, seq: int) -> list[Event]:
        return [("changed", {"topic": self.key[1]}, seq)]

    def still_open(self) -> bool:
        return True

    def idle(self) -> list[Event]:
        return []


class LiveHub:
    """This process's view of the change numbers, and its open streams."""

    def __init__(
        self,
        backend,  # type: ignore[no-untyped-def]
        caps: LiveCaps | int,
        stream_seconds: float,
        heartbeat: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedCaps | None = None,
    ) -> None:
        """``shared``: the caps counted across every web process (Redis), checked after this
        process's own."""
        self.backend = backend
        self.admissions = Admissions(caps if isinstance(caps, LiveCaps) else LiveCaps(caps))
        self.shared = shared
        self.stream_seconds = stream_seconds
        self.heartbeat = heartbeat
        self.clock = clock
        self._cond = threading.Condition()
        self._latest: dict[Key, int] = {}
        self._moves: dict[Key, int] = {}
        self._closed = False
        backend.listen(self._heard)

    @property
    def caps(self) -> LiveCaps:
        return self.admissions.caps

    @caps.setter
    def caps(self, caps: LiveCaps) -> None:
        with self._cond:
            self.admissions.caps = caps

    @property
    def open_streams(self) -> int:
        return len(self.admissions)

    def _heard(self, guild_id: int, topic: str, seq: int) -> None:
        """Keep any number that differs, a lower one too: the counters may start over (Redis
        restarted without its last numbers), and a stream waiting for a higher number froze
        until they climbed back. Streams wait on how often the number moved here, not on the
        number: a late note with an older number (another process's, heard in another order)
        then costs its streams one read, and can never hide the change heard just before it."""
        key = (guild_id, topic)
        with self._cond:
            if seq != self._latest.get(key, 0):
                self._latest[key] = seq
                self._moves[key] = self._moves.get(key, 0) + 1
                self._cond.notify_all()

    def latest(self, guild_id: int, topic: str) -> int:
        return self._mark((guild_id, topic))[1]

    def _mark(self, key: Key) -> Mark:
        """How often ``key``'s number moved here, and the number (asked of the backend once)."""
        with self._cond:
            known = key in self._latest
        if not known:
            self._heard(*key, self.backend.latest(*key))
        with self._cond:
            self._latest.setdefault(key, 0)
            return self._moves.get(key, 0), self._latest[key]

    def admit(
        self, guilds: frozenset[int], tokens: frozenset[str], client: str, connection: str | None
    ) -> Ticket | Refusal:
        with self._cond:
            if self._closed:
                return Refusal("The server is stopping.", BUSY_RETRY_SECONDS)
            answer = self.admissions.admit(guilds, tokens, client, connection)
            ended = self.admissions.take_ended()
            self._cond.notify_all()  # a replaced or displaced stream ends now
        if self.shared is None:
            return answer
        for old in ended:  # before the newcomer counts: their places are free already
            self.shared.give_back(old)
        if isinstance(answer, Ticket):
            refused = self.shared.take(answer)  # Redis is asked outside the lock
            if refused is not None:
                with self._cond:
                    self.admissions.release(answer)
                return refused
        return answer

    def release(self, ticket: Ticket) -> None:
        with self._cond:
            self.admissions.release(ticket)
        if self.shared is not None:
            self.shared.give_back(ticket)

    def close(self) -> None:
        """End every open stream now (the server is stopping)."""
        with self._cond:
            self._closed = True
            self.admissions.end_all()
            self._cond.notify_all()

    def wait(self, ticket: Ticket, seen: dict[Key, Mark], timeout: float) -> dict[Key, Mark] | None:
        """The marks of ``seen``'s topics once one moved since it was seen, or after ``timeout``
        seconds whatever they are; None once the stream must end (closed, replaced, displaced)."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._closed
                    or ticket.ended
                    or any(self._moves.get(k, 0) != m[0] for k, m in seen.items())
                ),
                timeout=max(0.0, timeout),
            )
            if self._closed or ticket.ended:
                return None
            return {k: (self._moves.get(k, 0), self._latest.get(k, 0)) for k in seen}

    def serve(
        self, ticket: Ticket, subscriptions: Sequence[Subscription], shared: bool
    ) -> Iterator[str]:
        """The stream's text: each subscription's opening, then what each change brings, with a
        heartbeat when nothing happened, until the stream's time is up or it must end. On a
        ``shared`` stream every event names its subscription (:func:`shared_event`) and one
        that stops being open is dropped with ``gone``; alone, the stream just ends."""
        ends = self.clock() + self.stream_seconds
        renew_at = self.clock() + RENEW_SECONDS
        subs = list(subscriptions)
        seen = {s.key: self._mark(s.key) for s in subs}  # before reading: nothing slips by
        yield f"retry: {RETRY_MS}\n\n"
        for sub in subs:
            yield from _written(sub, sub.opening(seen[sub.key][1]), shared)
        while subs:
            now = self.wait(ticket, seen, min(self.heartbeat, ends - self.clock()))
            if now is None:
                return
            if self.shared is not None and self.clock() >= renew_at:
                self.shared.renew(ticket)
                renew_at = self.clock() + RENEW_SECONDS
            for sub in [s for s in subs if not s.still_open()]:
                if not shared:
                    return
                subs.remove(sub)
                yield shared_event("gone", sub.label, {}, None)
            moved = [s for s in subs if now[s.key] != seen[s.key]]
            for sub in moved:
                yield from _written(sub, sub.changed(now[sub.key][1]), shared)
            seen = {s.key: now[s.key] for s in subs}
            if not moved:
                if self.clock() >= ends:
                    return
                noticed = [(sub, sub.idle()) for sub in subs]
                for sub, events in noticed:
                    yield from _written(sub, events, shared)
                if not any(events for _, events in noticed):
                    yield ": heartbeat\n\n"


def _written(sub: Subscription, events: list[Event], shared: bool) -> Iterator[str]:
    for name, data, event_id in events:
        if shared:
            yield shared_event(name, sub.label, data, event_id)
        else:
            yield _event(name, data, event_id)


def _event(name: str, data: dict[str, Any], event_id: int | None) -> str:
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"


def shared_event(name: str, label: str, data: dict[str, Any], event_id: int | None) -> str:
    """An event of a shared stream: its data names the subscription and carries the number
    (the browser keeps one per subscription and sends them back when it reconnects)."""
    body = {"sub": label, "id": event_id, "data": data}
    return f"event: {name}\ndata: {json.dumps(body)}\n\n"


def last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_id")
    return parse_number(raw)


def parse_number(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdecimal() or len(raw) > 18:
        return None
    return int(raw)


def event_stream(
    subscriptions: Callable[[], Sequence[Subscription]],
    *,
    guilds: frozenset[int],
    tokens: frozenset[str] = frozenset(),
    shared: bool = False,
    connection: str | None = None,
) -> Response:
    """A Server-Sent Events answer following ``subscriptions()``, counted against the caps on
    open streams (429 with ``Retry-After`` beyond one; 503 when this process hears no changes)."""
    hub: LiveHub | None = current_app.extensions.get("live")
    if hub is None:
        return _busy(503, "Live updates are off here.", BUSY_RETRY_SECONDS)
    answer = hub.admit(guilds, tokens, request.remote_addr or "-", connection)
    if isinstance(answer, Refusal):
        return _busy(429, answer.reason, answer.retry_after)
    ticket = answer
    try:
        response = Response(
            hub.serve(ticket, subscriptions(), shared), mimetype="text/event-stream"
        )
    except BaseException:
        hub.release(ticket)
        raise
    response.call_on_close(lambda: hub.release(ticket))  # however the stream ended
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy must pass events on at once
    return response


def answer_database_down(bp: Blueprint) -> None:
    """Every route of ``bp`` answers 503 with ``Retry-After`` while the database does not answer
    (the app's own answer is a bare JSON 500): the browser's live connection tries again."""
    from core.web.dashboard import DATABASE_ERRORS  # the package imports this module

    for error in DATABASE_ERRORS:
        bp.register_error_handler(error, _database_down)


def _database_down(error: Exception) -> Response:
    log.warning(
        "a live stream was not opened: the database is unreachable (%s)", type(error).__name__
    )
    return database_down_answer()


def database_down_answer() -> Response:
    """503, plain words and ``Retry-After``: what a stream or an overlay's fetch gets while the
    database does not answer."""
    return _busy(503, "StreamKeeper cannot reach its database right now.", BUSY_RETRY_SECONDS)


def _busy(status: int, reason: str, retry_after: int) -> Response:
    busy = Response(reason + " Retrying shortly.\n", status)
    busy.headers["Retry-After"] = str(retry_after)
    busy.mimetype = "text/plain"
    return busy


def register(app: Flask, config: DashboardConfig, blueprints: set[str]) -> None:
    """The stream routes, guarded like every guild page, and this process's hub."""
    from core.web.dashboard import live_mux
    from core.web.dashboard.guilds import require_login

    bp = Blueprint("guild_live", __name__, url_prefix="/dashboard/<id:guild_id>/live")
    bp.before_request(require_login)
    answer_database_down(bp)

    @bp.get("/<topic>")
    def stream(guild_id: int, topic: str):  # type: ignore[no-untyped-def]
        if topic not in TOPICS:
            abort(404)
        last_id = last_event_id()
        return event_stream(
            lambda: [TopicSubscription(guild_id, topic, last_id)], guilds=frozenset({guild_id})
        )

    app.register_blueprint(bp)
    blueprints.add(bp.name)
    live_mux.register(app, blueprints)
    if config.live_backend is not None and config.live_caps.process > 0:
        hub = LiveHub(config.live_backend, config.live_caps, config.live_stream_seconds)
        if config.redis is not None:
            hub.shared = SharedCaps(config.redis, lambda: hub.caps, process_name())
        app.extensions["live"] = hub
