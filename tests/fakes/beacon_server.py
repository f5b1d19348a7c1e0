"""A fake drand relay on 127.0.0.1 (``RAFFLE_BEACON_URLS``).

It serves one chain, at the root and under its hash as drand relays do: ``GET /info`` and
``GET /<hash>/info`` answer ``{"public_key", "period", "genesis_time", "hash", "groupHash",
"schemeID", "metadata"}``; ``GET /public/<round>`` and ``GET /<hash>/public/<round>`` answer
``{"round", "randomness", "signature"}`` (and ``"previous_signature"`` on a chained scheme) once
the round's time has come by the fake's clock, and 404 before (as drand's relays do for a
future round).

By default the chain is a test chain (not pinned, scheme ``bls-unchained-g1-rfc9380``) whose
rounds are really signed with a test key (tests/fakes/drand_signing.py): round ``n``'s
randomness is :func:`fake_randomness` ``(n)``, so tests can compute it too. With ``chain=`` a
pinned chain and ``published=`` some of its real rounds, it replays those (and 404 for others).

``down = True`` answers 503; ``odd_body`` is sent instead of every 200's JSON, without a
``Content-Length`` when ``says_length = False``, with ``odd_headers`` (a ``Content-Encoding``,
say) added; ``accept_encodings`` keeps each request's ``Accept-Encoding``. ``bad_signature =
True`` answers every round with one byte of its signature changed (and the randomness to match),
as a lying relay would. ``between_halves`` is called between the two halves of every 200's body
(a test moves its clock there: a relay that sends its answer slowly).

    with FakeBeacon(clock=clock) as beacon:
        HttpBeacon(beacon.url).fetch_round(3, HttpBeacon(beacon.url).info())
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from core.features.raffle.beacons.chains import UNCHAINED_G1, Chain
from tests.fakes import drand_signing
from tests.fakes.threaded import StdlibServer

GENESIS = datetime(2026, 1, 1, tzinfo=UTC)
_PATH = re.compile(r"(?:/(?P<hash>[0-9a-f]{64}))?/(?:(?P<info>info)|public/(?P<round>\d+))")


def fake_chain(genesis: datetime = GENESIS, period_seconds: int = 30) -> Chain:
    """The test chain: its hash computed from its info as drand computes one."""
    seed = hashlib.sha256(b"streamkeeper fake beacon").hexdigest()
    draft = Chain(
        name="fake",
        hash="",
        scheme=UNCHAINED_G1,
        public_key=drand_signing.public_key(UNCHAINED_G1),
        genesis_time=int(genesis.timestamp()),
        period_seconds=period_seconds,
        genesis_seed=seed,
        beacon_id="fake",
    )
    return Chain(**{**draft.__dict__, "hash": draft.computed_hash()})


def fake_signature(beacon_round: int) -> str:
    return drand_signing.sign(beacon_round, UNCHAINED_G1)


def fake_randomness(beacon_round: int) -> str:
    return drand_signing.randomness(fake_signature(beacon_round))


class FakeBeacon(StdlibServer):
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        genesis: datetime = GENESIS,
        period_seconds: int = 30,
        chain: Chain | None = None,
        published: dict[int, dict] | None = None,
    ) -> None:
        self.clock = clock
        self.chain = chain or fake_chain(genesis, period_seconds)
        self.genesis_time = self.chain.genesis_time
        self.period_seconds = self.chain.period_seconds
        self.published = published
        self.down = False
        self.bad_signature = False
        self.odd_body: bytes | None = None  # sent for every 200 instead of the JSON answer
        self.says_length = True  # False: no Content-Length, the body ends when the socket closes
        self.odd_headers: dict[str, str] = {}  # sent with odd_body
        self.requests: list[str] = []
        self.accept_encodings: list[str | None] = []
        # Called between the two halves of every 200's body: a relay that sends it slowly.
        self.between_halves: Callable[[], None] | None = None

    def start(self) -> FakeBeacon:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                fake.accept_encodings.append(self.headers.get("Accept-Encoding"))
                status, body = fake.answer(self.path)
                encoded = json.dumps(body).encode()
                odd = fake.odd_body if status == 200 else None
                if odd is not None:
                    encoded = odd
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in fake.odd_headers.items() if odd is not None else ():
                    self.send_header(name, value)
                if fake.says_length:
                    self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # a client that stopped reading
                    if fake.between_halves is not None and status == 200:
                        half = len(encoded) // 2
                        self.wfile.write(encoded[:half])
                        self.wfile.flush()
                        fake.between_halves()
                        encoded = encoded[half:]
                    self.wfile.write(encoded)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return self._serve(Handler, "fake-beacon")

    @property
    def url(self) -> str:
        return self._origin

    @property
    def chain_hash(self) -> str:
        return self.chain.hash

    def latest_round(self) -> int:
        elapsed = self.clock().timestamp() - self.genesis_time
        return 0 if elapsed < 0 else int(elapsed // self.period_seconds) + 1

    def answer(self, path: str) -> tuple[int, dict]:
        if self.down:
            return 503, {"error": "unavailable"}
        match = _PATH.fullmatch(path)
        if match is None or match["hash"] not in (None, self.chain.hash):
            return 404, {"error": "not found"}
        if match["info"]:
            return 200, self.info()
        number = int(match["round"])
        if number < 1 or number > self.latest_round():
            return 404, {"error": "round not yet available"}
        body = self.round(number)
        if body is None:
            return 404, {"error": "round not known to this fake"}
        if self.bad_signature:
            raw = bytearray.fromhex(body["signature"])
            raw[-1] ^= 0x01
            body = {
                **body,
                "signature": raw.hex(),
                "randomness": drand_signing.randomness(raw.hex()),
            }
        return 200, body

    def info(self) -> dict:
        return {
            "public_key": self.chain.public_key,
            "period": self.chain.period_seconds,
            "genesis_time": self.chain.genesis_time,
            "hash": self.chain.hash,
            "groupHash": self.chain.genesis_seed,
            "schemeID": self.chain.scheme,
            "metadata": {"beaconID": self.chain.beacon_id},
        }

    def round(self, number: int) -> dict | None:
        if self.published is not None:
            row = self.published.get(number)
            if row is None:
                return None
            body = {"round": number, "randomness": row["randomness"], "signature": row["signature"]}
            if row.get("previous_signature"):
                body["previous_signature"] = row["previous_signature"]
            return body
        return {
            "round": number,
            "randomness": fake_randomness(number),
            "signature": fake_signature(number),
        }
