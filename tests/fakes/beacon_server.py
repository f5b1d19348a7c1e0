"""A fake drand-style randomness beacon on 127.0.0.1 (``RAFFLE_BEACON_URL``).

``GET /info`` answers ``{"genesis_time", "period", "hash"}``; ``GET /public/<round>`` answers
``{"round", "randomness", "signature"}`` once the round's time has come by the fake's clock, and
404 before (as drand's relays do for a future round). The randomness of round ``n`` is
SHA-256 of ``"fake-beacon:<n>"``, so tests can compute it too. Set ``down = True`` to answer 503.

    with FakeBeacon(clock=clock) as beacon:
        HttpBeacon(beacon.url).fetch_round(3)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from tests.fakes.threaded import StdlibServer

GENESIS = datetime(2026, 1, 1, tzinfo=UTC)
_ROUND_PATH = re.compile(r"/public/(\d+)")


def fake_randomness(beacon_round: int) -> str:
    return hashlib.sha256(f"fake-beacon:{beacon_round}".encode()).hexdigest()


class FakeBeacon(StdlibServer):
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        genesis: datetime = GENESIS,
        period_seconds: int = 30,
    ) -> None:
        self.clock = clock
        self.genesis_time = int(genesis.timestamp())
        self.period_seconds = period_seconds
        self.down = False
        self.requests: list[str] = []

    def start(self) -> FakeBeacon:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.answer(self.path)
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return self._serve(Handler, "fake-beacon")

    @property
    def url(self) -> str:
        return self._origin

    def latest_round(self) -> int:
        elapsed = self.clock().timestamp() - self.genesis_time
        return 0 if elapsed < 0 else int(elapsed // self.period_seconds) + 1

    def answer(self, path: str) -> tuple[int, dict]:
        if self.down:
            return 503, {"error": "unavailable"}
        if path == "/info":
            return 200, {
                "genesis_time": self.genesis_time,
                "period": self.period_seconds,
                "hash": "fake-chain",
            }
        match = _ROUND_PATH.fullmatch(path)
        if match is None:
            return 404, {"error": "not found"}
        number = int(match[1])
        if number < 1 or number > self.latest_round():
            return 404, {"error": "round not yet available"}
        return 200, {
            "round": number,
            "randomness": fake_randomness(number),
            "signature": "00" * 48,
        }
