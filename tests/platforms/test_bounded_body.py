"""A partner's answer held to a size as it arrives and as it inflates
(``core/platforms/bounded_body.py``): the reader alone, and Kick's public key (the one
``max_body_bytes`` call) from a server on loopback answering plain, gzip, a gzip bomb, or a
compression not asked for. The drand relays' reader is tested in
tests/features/raffle/test_beacon_relays.py."""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from core.platforms.bounded_body import BoundedBody, TooLarge, Unreadable
from core.platforms.kick.api import MAX_PUBLIC_KEY_REPLY_BYTES, KickApi
from core.platforms.kick.api_errors import KickApiError, KickUnreachable
from tests.fakes.threaded import Serving

KEY = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----"
ANSWER = json.dumps({"data": {"public_key": KEY}, "message": "OK"}).encode()
BOMB = gzip.compress(b" " * 10_000_000, compresslevel=9, mtime=0)  # 10 MB of spaces in ~10 KB


def _fed(encoding: str | None, body: bytes, limit: int, chunk: int = 4096) -> bytes:
    reader = BoundedBody(encoding, limit)
    for start in range(0, len(body), chunk):
        reader.add(body[start : start + chunk])
    return reader.read()


def test_a_body_within_its_limit_is_read_as_it_came_or_inflated() -> None:
    assert _fed(None, ANSWER, 1024) == ANSWER
    assert _fed("identity", ANSWER, 1024) == ANSWER
    assert _fed(" GZIP ", gzip.compress(ANSWER), 1024) == ANSWER
    assert _fed("gzip", gzip.compress(b"x" * 1024), 1024) == b"x" * 1024  # the limit itself


def test_a_body_past_its_limit_is_refused_as_it_came_or_as_it_inflates() -> None:
    with pytest.raises(TooLarge):
        _fed(None, b"x" * 1025, 1024)
    with pytest.raises(TooLarge):
        _fed("gzip", gzip.compress(b"x" * 1025), 1024)
    with pytest.raises(TooLarge):  # at the bomb's first network chunk, inflated to the limit
        BoundedBody("gzip", 8192).add(BOMB[:4096])


@pytest.mark.parametrize(
    ("encoding", "body", "said"),
    [
        ("br", ANSWER, "compressed as 'br'"),
        ("deflate", ANSWER, "compressed as 'deflate'"),
        ("gzip", b"not gzip at all", "broken gzip"),
        ("gzip", gzip.compress(ANSWER, mtime=0)[:-12], "gzip cut short"),
    ],
    ids=["br", "deflate", "broken", "cut-short"],
)
def test_a_body_that_cannot_be_read_says_why(encoding: str, body: bytes, said: str) -> None:
    with pytest.raises(Unreadable, match=said):
        _fed(encoding, body, 1024)


class _Kick(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[bytes, dict[str, str]]] = (ANSWER, {})
    accepted: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        body, headers = self.answer
        type(self).accepted.append(self.headers.get("Accept-Encoding", ""))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def kick() -> Iterator[str]:
    with Serving(_Kick) as server:
        yield server.url


async def _no_sleep(seconds: float) -> None:
    pass


def _public_key(kick: str, body: bytes, headers: dict[str, str]) -> str:
    _Kick.answer = (body, headers)

    async def fetch() -> str:
        async with KickApi(kick, max_retries=0, sleep=_no_sleep) as api:
            return await api.get_public_key()

    return asyncio.run(fetch())


def test_kicks_public_key_is_read_plain_or_gzipped_and_only_gzip_is_asked_for(kick: str) -> None:
    assert _public_key(kick, ANSWER, {}) == KEY
    assert _public_key(kick, gzip.compress(ANSWER), {"Content-Encoding": "gzip"}) == KEY
    assert _Kick.accepted[-1] == "gzip"


def test_kicks_public_key_as_a_gzip_bomb_is_refused_without_inflating_it(kick: str) -> None:
    assert len(BOMB) < MAX_PUBLIC_KEY_REPLY_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(KickApiError, match="over"):
            _public_key(kick, BOMB, {"Content-Encoding": "gzip"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"{peak:,} bytes held while reading a 10 MB gzip bomb"


def test_kicks_public_key_compressed_otherwise_is_no_readable_answer(kick: str) -> None:
    with pytest.raises(KickUnreachable, match="no readable answer"):
        _public_key(kick, ANSWER, {"Content-Encoding": "br"})
