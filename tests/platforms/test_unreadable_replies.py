"""A partner whose answer cannot be read (``Content-Encoding: gzip`` on a body that is not gzip)
fails each client built on ``core/platforms/http.py`` as no answer at all does: the client's own
"unreachable" error, no status, never httpx's ``DecodingError``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from core.platforms.kick.api import KickApi
from core.platforms.kick.api_errors import KickUnreachable
from core.platforms.kick.oauth_client import KickOAuthClient, OAuthError
from core.platforms.shuffle.api import ShuffleClient, ShuffleUnreachable
from core.platforms.streamelements.api import StreamElementsPoints, StreamElementsUnreachable
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.helix_transport import HelixUnreachable
from core.platforms.twitch.oauth_client import TwitchOAuthClient, TwitchOAuthError
from tests.fakes.threaded import Serving

NOT_GZIP = b'{"data": []} but not gzip at all'


class _NotGzip(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(NOT_GZIP)))
        self.end_headers()
        self.wfile.write(NOT_GZIP)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def partner() -> Iterator[str]:
    with Serving(_NotGzip) as server:
        yield server.url


async def _no_sleep(seconds: float) -> None:
    pass


def _raised(call: Callable[[], Awaitable[object]]) -> BaseException:
    async def run() -> BaseException:
        try:
            await call()
        except Exception as exc:
            return exc
        raise AssertionError("the unreadable answer was taken as a good one")

    return asyncio.run(run())


def test_kick_api_takes_an_unreadable_answer_as_none(partner: str) -> None:
    async def call() -> object:
        async with KickApi(partner, max_retries=0, sleep=_no_sleep) as kick:
            return await kick.get_users("token", ["1"])

    error = _raised(call)
    assert isinstance(error, KickUnreachable), repr(error)
    assert error.status is None
    assert "no readable answer" in str(error.message)


def test_twitch_helix_takes_an_unreadable_answer_as_none(partner: str) -> None:
    async def call() -> object:
        async with HelixClient(partner, "client-id", max_retries=0, sleep=_no_sleep) as helix:
            return await helix.get_users("token", ids=["1"])

    error = _raised(call)
    assert isinstance(error, HelixUnreachable), repr(error)
    assert error.status is None


def test_streamelements_takes_an_unreadable_answer_as_none(partner: str) -> None:
    async def call() -> object:
        points = StreamElementsPoints(base_url=partner, max_retries=0, sleep=_no_sleep)
        async with points:
            return await points.balance("5f" + "0" * 22, "jwt", "viewer")

    error = _raised(call)
    assert isinstance(error, StreamElementsUnreachable), repr(error)
    assert error.status is None


def test_oauth_clients_take_an_unreadable_answer_as_none(partner: str) -> None:
    async def kick() -> object:
        async with KickOAuthClient(partner, "app", "secret") as oauth:
            return await oauth.refresh("refresh-token")

    async def twitch() -> object:
        async with TwitchOAuthClient(partner, "client-id", "secret", max_retries=0) as oauth:
            return await oauth.refresh("refresh-token")

    kick_error, twitch_error = _raised(kick), _raised(twitch)
    assert isinstance(kick_error, OAuthError), repr(kick_error)
    assert (kick_error.error, kick_error.status) == ("unreachable", None)
    assert isinstance(twitch_error, TwitchOAuthError), repr(twitch_error)
    assert twitch_error.status is None


def test_shuffle_takes_an_unreadable_answer_as_none(partner: str) -> None:
    async def call() -> object:
        async with ShuffleClient(max_retries=0, sleep=_no_sleep) as shuffle:
            return await shuffle.fetch_wagers(f"{partner}/affiliate/statistics")

    error = _raised(call)
    assert isinstance(error, ShuffleUnreachable), repr(error)
    assert error.status is None
