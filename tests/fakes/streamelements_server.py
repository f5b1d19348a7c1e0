"""A fake StreamElements loyalty points API on 127.0.0.1 (``/kappa/v2/points``).

``GET /kappa/v2/channels/me`` answers the JWT's channel ``{"_id", "username", "provider",
"providerId"}`` (its owner: ``owner_login``, Twitch user ``owner_id``);
``GET /kappa/v2/points/<channel>/top?limit=&offset=`` answers the leaderboard
``{"_total", "users": [{"username", "points"}]}``, most points first;
``GET /kappa/v2/points/<channel>/<username>`` answers ``{"channel", "username", "points",
"pointsAlltime", "rank"}`` or 404 for a viewer it has never seen; ``PUT .../<amount>`` adds the
(signed) amount and answers ``{"channel", "username", "amount", "newAmount", "message"}``, the
way StreamElements does: a blind delta, with no guard against going below zero. Every call needs
``Authorization: Bearer <jwt>`` (401 otherwise). A test scripts the replies that are not data::

    with FakeStreamElements() as se:
        se.points["ann"] = 500
        se.fail_next("500_after_apply")  # the next PUT is applied, then answered 500
        ...

Failure kinds: ``"429"`` and ``"500"`` (nothing applied), ``"500_after_apply"`` (applied, then
500), ``"drop_after_apply"`` (applied, then the connection closes without an answer),
``"garbage"`` (200 with a body that is not JSON), ``"garbage_after_apply"`` (applied, then 200
with a body that is not JSON); :meth:`fail_puts` answers every change with one
of them until :meth:`recover`. :meth:`hang_puts_of` holds one viewer's changes until released,
:meth:`hang_reads` every balance read. ``requests`` records every call as it arrives (method and
path), ``puts`` the changes applied. The server runs in its own thread, a thread per request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from tests.fakes.threaded import StdlibServer

CHANNEL_ID = "5b2e2007760aeb7729487dab"
JWT = "fake.jwt.secret-for-tests-only"
OWNER_ID, OWNER_LOGIN = "41000001", "streamer"  # the channel's streamer on Twitch

FailureKind = Literal[
    "429", "500", "500_after_apply", "drop_after_apply", "garbage", "garbage_after_apply"
]


@dataclass
class FakeStreamElements(StdlibServer):
    channel_id: str = CHANNEL_ID
    jwt: str = JWT
    points: dict[str, int] = field(default_factory=dict)
    puts: list[tuple[str, int]] = field(default_factory=list)  # applied changes, in order
    failures: list[FailureKind] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    holding: dict[str, threading.Event] = field(default_factory=dict)
    pages: list[tuple[int, int]] = field(default_factory=list)  # leaderboard (limit, offset)
    retry_after: int | None = None  # the Retry-After its 429s carry (seconds), if any
    reads: list[str] = field(default_factory=list)  # what was read (a viewer, "top"), when asked
    reads_held: threading.Event | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path), as they came
    failing_puts: FailureKind | None = None  # every change answered so, until recover()
    held: int = 0  # calls held by a hang so far
    owner_id: str = OWNER_ID
    owner_login: str = OWNER_LOGIN

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def fail_next(self, *kinds: FailureKind) -> None:
        with self._lock:
            self.failures.extend(kinds)

    def fail_puts(self, kind: FailureKind) -> None:
        """Answer every change (PUT) with ``kind`` until :meth:`recover`; reads answer as usual."""
        self.failing_puts = kind

    def recover(self) -> None:
        """StreamElements answers again: no more scripted failures, and every held call goes on."""
        with self._lock:
            self.failures.clear()
            self.failing_puts = None
        for hold in [*self.holding.values(), self.reads_held]:
            if hold is not None:
                hold.set()

    def hang_puts_of(self, username: str) -> threading.Event:
        """Hold every change to ``username``'s points until the returned event is set (at most
        a minute), then make it as usual: a StreamElements that hangs for one channel's call."""
        self.holding[username] = threading.Event()
        return self.holding[username]

    def hang_reads(self) -> threading.Event:
        """Hold every read (a balance, the leaderboard) until the returned event is set (at most
        a minute): a StreamElements that hangs on reads."""
        self.reads_held = threading.Event()
        return self.reads_held

    @property
    def base_url(self) -> str:
        return f"{self._origin}/kappa/v2"

    def start(self) -> FakeStreamElements:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def log_message(self, format: str, *args: object) -> None:
                pass

        return self._serve(Handler, "fake-streamelements")

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        auth = request.headers.get("Authorization", "")
        with self._lock:
            self.requests.append((method, request.path))
        self.authorizations.append(auth)
        parts = request.path.split("?", 1)[0].strip("/").split("/")
        if auth != f"Bearer {self.jwt}":
            return _answer(request, 401, {"statusCode": 401, "error": "Unauthorized"})
        if method == "GET" and parts == ["kappa", "v2", "channels", "me"]:
            with self._lock:
                failure = self.failures.pop(0) if self.failures else None
            if failure == "garbage":
                return _raw(request, 200, b"<html>maintenance</html>")
            if failure in ("429", "500"):
                return _answer(request, int(failure), {"statusCode": int(failure)})
            body = {"_id": self.channel_id, "username": self.owner_login, "provider": "twitch",
                    "providerId": self.owner_id, "displayName": self.owner_login}  # fmt: skip
            return _answer(request, 200, body)
        if parts[:3] != ["kappa", "v2", "points"] or len(parts) < 5 or parts[3] != self.channel_id:
            return _answer(request, 404, {"statusCode": 404, "error": "Not Found"})
        username = parts[4]
        if method == "GET":
            self.reads.append(username)
        hold = self.holding.get(username) if method == "PUT" else self.reads_held
        if hold is not None and not hold.is_set():
            with self._lock:
                self.held += 1
            hold.wait(timeout=60)  # a StreamElements that hangs on this change, or on reads
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
            if failure is None and method == "PUT":
                failure = self.failing_puts
            if failure in ("429", "500"):
                wait = self.retry_after if failure == "429" else None
                headers = {} if wait is None else {"Retry-After": str(wait)}
                return _answer(request, int(failure), {"statusCode": int(failure)}, headers)
            if failure == "garbage":
                return _raw(request, 200, b"<html>maintenance</html>")
            if method == "GET" and parts[4] == "top" and len(parts) == 5:
                return _answer(request, 200, self._top(request.path))
            if method == "GET":
                if len(parts) != 5 or username not in self.points:
                    return _answer(request, 404, {"statusCode": 404, "message": "User not found"})
                body = {"channel": self.channel_id, "username": username,
                        "points": self.points[username], "pointsAlltime": 0, "rank": 1}  # fmt: skip
                return _answer(request, 200, body)
            if len(parts) != 6 or not parts[5].lstrip("-").isdigit():
                return _answer(request, 400, {"statusCode": 400, "error": "Bad Request"})
            amount = int(parts[5])
            self.points[username] = self.points.get(username, 0) + amount
            self.puts.append((username, amount))
            new_amount = self.points[username]
        if failure == "500_after_apply":
            return _answer(request, 500, {"statusCode": 500})
        if failure == "garbage_after_apply":
            return _raw(request, 200, b"<html>maintenance</html>")
        if failure == "drop_after_apply":
            request.close_connection = True
            request.wfile.flush()
            request.connection.shutdown(2)
            return None
        body = {"channel": self.channel_id, "username": username, "amount": amount,
                "newAmount": new_amount, "message": f"Added {amount} points"}  # fmt: skip
        return _answer(request, 200, body)

    def _top(self, path: str) -> dict[str, object]:
        """``GET /points/<channel>/top?limit=&offset=``: the leaderboard, most points first."""
        query = parse_qs(urlsplit(path).query)
        limit = min(int(query.get("limit", ["25"])[0]), 1000)
        offset = int(query.get("offset", ["0"])[0])
        ranked = sorted(self.points.items(), key=lambda item: (-item[1], item[0]))
        page = ranked[offset : offset + limit]
        self.pages.append((limit, offset))
        users = [{"username": name, "points": points} for name, points in page]
        return {"_total": len(ranked), "users": users}


def _answer(
    request: BaseHTTPRequestHandler,
    status: int,
    body: object,
    headers: dict[str, str] | None = None,
) -> None:
    _raw(request, status, json.dumps(body).encode(), headers)


def _raw(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    request.send_response(status)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.send_header("Content-Type", "application/json; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
