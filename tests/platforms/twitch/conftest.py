from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.oauth_client import TwitchOAuthClient
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep

BROADCASTER_ID = "141981764"
REDIRECT_URI = "http://localhost:8080/auth/twitch/callback"


@pytest.fixture
def clock() -> Clock:
    return Clock()  # the real time (whole seconds): tokens and signatures must be fresh


@pytest.fixture
def sleep(clock: Clock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture
def twitch(clock: Clock) -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        yield fake


@pytest.fixture
async def helix(
    twitch: FakeTwitch, sleep: RecordingSleep, clock: Clock
) -> AsyncIterator[HelixClient]:
    async with HelixClient(
        twitch.helix_url, CLIENT_ID, sleep=sleep, jitter=lambda: 1.0, clock=clock
    ) as client:
        yield client


@pytest.fixture
async def oauth(
    twitch: FakeTwitch, sleep: RecordingSleep, clock: Clock
) -> AsyncIterator[TwitchOAuthClient]:
    async with TwitchOAuthClient(
        twitch.oauth_url, CLIENT_ID, CLIENT_SECRET, clock=clock, sleep=sleep, jitter=lambda: 1.0
    ) as client:
        yield client


@pytest.fixture
def token(twitch: FakeTwitch) -> str:
    return twitch.issue_user_token()


@pytest.fixture
def app_token(twitch: FakeTwitch) -> str:
    return twitch.issue_app_token()


TokenFactory = Callable[..., str]
