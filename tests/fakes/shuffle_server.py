"""A fake Shuffle affiliate statistics endpoint on 127.0.0.1.

``GET /stats/<key>`` answers the lifetime wager totals of every referred player as a JSON list of
``{"username", "campaignCode", "wagerAmount"}`` rows, the way Shuffle does; any other key
answers 404. Amounts are written as exact JSON numbers (``1234.56``), or as strings when
``amounts_as_strings`` is set. A test scripts the replies that are not data::

    with FakeShuffle() as shuffle:
        shuffle.set_wagered("Alice", "1000.00")
        shuffle.fail_next("429", retry_after=3)
        ...  # the next request is rate limited, the one after it answers the totals

For a whole-bot test, :func:`connect_guild` points a guild at the fake and :func:`verify_player`
ties a Discord member to a Shuffle name; ``await runtime.wagers.poll_due()`` then runs one poll.

Failure kinds: ``"429"``, ``"400"`` (both rate limits), ``"too_many"`` (200 with
``{"message": "TOO_MANY_REQUEST"}``), ``"too_many_list"`` (200 with
``[{"error": "TOO_MANY_REQUEST"}]``), ``"challenge"`` (a Cloudflare challenge page, 403 HTML),
``"500"`` and ``"unreadable_rows"`` (200 with a list of rows whose fields are none the reader
knows, as if Shuffle renamed them); :meth:`hang_next` holds the next request until released
(``waiting``: how many were held so far), and :meth:`recover` drops what is scripted and
releases what is held. The server runs in its own thread (stdlib ``http.server``, a thread per
request), so sync and async tests use it alike.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Literal

from tests.fakes.threaded import StdlibServer

if TYPE_CHECKING:
    from core.features.raffle.wagers.service import WagerService

AFFILIATE_KEY = "7f3c2a10-5d4e-4b8a-9c61-fake0affiliate"
CAMPAIGN_CODE = "STREAMER"

FailureKind = Literal[
    "429", "400", "too_many", "too_many_list", "challenge", "500", "unreadable_rows"
]

CHALLENGE_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<noscript>Enable JavaScript and cookies to continue</noscript></div></div>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8f1e"></script>
</body></html>"""


@dataclass
class _Player:
    username: str
    campaign_code: str
    wagered: Decimal


@dataclass(frozen=True)
class _Failure:
    kind: FailureKind
    retry_after: float | None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    status: int


class FakeShuffle(StdlibServer):
    def __init__(self, key: str = AFFILIATE_KEY) -> None:
        self.key = key
        self.amounts_as_strings = False
        self.requests: list[RecordedRequest] = []
        self._players: dict[str, _Player] = {}
        self._failures: list[_Failure] = []
        self._holds: list[threading.Event] = []
        self._held: list[threading.Event] = []  # holds taken by a request
        self.waiting = 0  # requests held by a hang so far
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeShuffle:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with fake._lock:
                    hold = fake._holds.pop(0) if fake._holds else None
                    if hold is not None:
                        fake._held.append(hold)
                        fake.waiting += 1
                if hold is not None:
                    hold.wait(timeout=60)  # a Shuffle that hangs on this request
                status, headers, body = fake._answer(self.path)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up while the request hung

            def log_message(self, format: str, *args: object) -> None:
                pass

        return self._serve(Handler, "fake-shuffle")

    @property
    def url(self) -> str:
        return self._origin

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the entry that lets a WagerService fetch from this fake."""
        return self.url.removeprefix("http://")

    @property
    def affiliate_url(self) -> str:
        """What a streamer pastes into ``!shuffle url``: the key is part of the path."""
        return f"{self.url}/stats/{self.key}"

    # --- scripting -------------------------------------------------------------------------

    def set_wagered(
        self, username: str, dollars: str | int | Decimal, code: str = CAMPAIGN_CODE
    ) -> None:
        """Set ``username``'s lifetime total (in dollars) under ``code``."""
        with self._lock:
            self._players[username] = _Player(username, code, Decimal(str(dollars)))

    def add_wager(
        self, username: str, dollars: str | int | Decimal, code: str = CAMPAIGN_CODE
    ) -> None:
        """``username`` wagers ``dollars`` more (a new player starts from zero)."""
        with self._lock:
            player = self._players.setdefault(username, _Player(username, code, Decimal(0)))
            player.wagered += Decimal(str(dollars))

    def rename(self, username: str, new_name: str) -> None:
        """The player takes another Shuffle name: their row (lifetime total and code) now
        carries ``new_name``, and no row carries the old one."""
        with self._lock:
            player = self._players.pop(username)
            self._players[new_name] = _Player(new_name, player.campaign_code, player.wagered)

    def wagered(self, username: str) -> Decimal:
        with self._lock:
            return self._players[username].wagered

    def fail_next(
        self, kind: FailureKind, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """The next ``times`` requests get this non-data reply instead of the totals."""
        with self._lock:
            self._failures.extend(_Failure(kind, retry_after) for _ in range(times))

    def hang_next(self) -> threading.Event:
        """The next request waits until the returned event is set (at most a minute), then is
        answered as usual."""
        hold = threading.Event()
        with self._lock:
            self._holds.append(hold)
        return hold

    def recover(self) -> None:
        """Shuffle answers again: no more scripted failures or hangs, and what hung goes on."""
        with self._lock:
            self._failures.clear()
            holds, self._holds = [*self._holds, *self._held], []
        for hold in holds:
            hold.set()

    @property
    def pending_failures(self) -> int:
        with self._lock:
            return len(self._failures)

    def statuses(self) -> list[int]:
        with self._lock:
            return [request.status for request in self.requests]

    # --- serving ---------------------------------------------------------------------------

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            status, headers, body = self._answer_locked(path.split("?", 1)[0])
            self.requests.append(RecordedRequest(path, status))
        return status, headers, body

    def _answer_locked(self, path: str) -> tuple[int, dict[str, str], bytes]:
        json_type = {"Content-Type": "application/json"}
        if path.rstrip("/") != f"/stats/{self.key}":
            return 404, json_type, b'{"message":"Not Found","statusCode":404}'
        if self._failures:
            return self._failure(self._failures.pop(0))
        return 200, json_type, self._totals_json().encode()

    def _failure(self, failure: _Failure) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json"}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        match failure.kind:
            case "429":
                return 429, headers, b'{"message":"ThrottlerException: Too Many Requests"}'
            case "400":
                return 400, headers, b'{"message":"TOO_MANY_REQUEST","statusCode":400}'
            case "too_many":
                return 200, headers, b'{"message":"TOO_MANY_REQUEST"}'
            case "too_many_list":
                return 200, headers, b'[{"error":"TOO_MANY_REQUEST"}]'
            case "challenge":
                headers["Content-Type"] = "text/html; charset=UTF-8"
                return 403, headers, CHALLENGE_PAGE
            case "500":
                return 500, headers, b'{"message":"Internal server error"}'
            case "unreadable_rows":
                rows = [
                    {"player": p.username, "ref": p.campaign_code, "usd": str(p.wagered)}
                    for p in self._rows()
                ]
                return 200, headers, json.dumps(rows).encode()

    def _totals_json(self) -> str:
        return "[" + ",".join(self._row_json(player) for player in self._rows()) + "]"

    def _rows(self) -> Iterator[_Player]:
        return iter(sorted(self._players.values(), key=lambda player: player.username.lower()))

    def _row_json(self, player: _Player) -> str:
        # Written by hand so that the amount is the exact decimal, never a float's rounding.
        amount = json.dumps(str(player.wagered)) if self.amounts_as_strings else str(player.wagered)
        return (
            f'{{"username":{json.dumps(player.username)},'
            f'"campaignCode":{json.dumps(player.campaign_code)},'
            f'"wagerAmount":{amount}}}'
        )


def connect_guild(
    wagers: WagerService, guild_id: int, fake: FakeShuffle, codes: str = CAMPAIGN_CODE
) -> None:
    """Set the guild's affiliate URL to the fake and its campaign codes, as an admin would."""
    wagers.set_affiliate_url(guild_id, fake.affiliate_url)
    wagers.set_campaign_codes(guild_id, codes)


def verify_player(
    wagers: WagerService, guild_id: int, discord_user_id: int, name: str, admin_id: int = 1
) -> None:
    """The member asks for ``name`` (``!linkshuffle``) and an admin confirms it."""
    wagers.request_link(guild_id, discord_user_id, name)
    wagers.verify(guild_id, admin_id=admin_id, discord_user_id=discord_user_id, name=name)
