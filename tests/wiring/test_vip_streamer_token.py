"""Temporary VIP reaches Twitch as the connected streamer (a real consent at the fake Twitch on
127.0.0.1): a 401 refreshes the streamer token and the VIP call is made once more; only a
refresh Twitch refuses means "Twitch is not connected"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.features.connections.twitch.signin import PURPOSE_TWITCH_STREAMER
from core.features.vip.ports import Refusal, TwitchRefused
from core.platforms.http import tls_context
from core.runtime import Runtime
from core.security.links import new_claims
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.features.connections.test_twitch_connection import current_tokens
from tests.support.clock import Clock

GUILD = 4242
ADMIN = 777
BROADCASTER = "141981764"  # twitchdev, who consents at the fake
VIEWER = "5000"
NONCE = "c" * 43


async def connect_streamer(runtime: Runtime, guild_id: int = GUILD) -> None:
    """The streamer of ``guild_id`` consents at the fake Twitch; the callback completes."""
    claims = new_claims(PURPOSE_TWITCH_STREAMER, ADMIN, guild_id, runtime.clock())
    url = await asyncio.to_thread(
        runtime.twitch_connections.begin, PURPOSE_TWITCH_STREAMER, claims, NONCE
    )
    async with httpx.AsyncClient(trust_env=False, verify=tls_context()) as browser:
        answer = await browser.get(url, follow_redirects=False)
    callback = answer.headers["location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(callback).query).items()}
    await runtime.twitch_connections.complete(
        state=query["state"], code=query["code"], error=None, browser_nonce=NONCE
    )


def stored_access_token(runtime: Runtime, twitch: FakeTwitch) -> str:
    access, _refresh = current_tokens(runtime)
    return access


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock: Clock) -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(VIEWER, "viewer")
        yield fake


@pytest.fixture
async def runtime(
    tmp_path: Path, twitch: FakeTwitch, clock: Clock, migrated_database_url: str
) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    await connect_streamer(runtime)
    yield runtime
    await runtime.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
    runtime.close()


async def test_a_401_on_a_vip_call_refreshes_the_streamer_token_and_tries_once_more(
    runtime: Runtime, twitch: FakeTwitch
) -> None:
    twitch.expire_token(stored_access_token(runtime, twitch))  # Twitch no longer takes it

    before = stored_access_token(runtime, twitch)

    await runtime.vip.effects.twitch.add_vip(GUILD, BROADCASTER, VIEWER)

    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    assert [r.status for r in twitch.requests_to("/helix/channels/vips", "POST")] == [401, 204]
    assert stored_access_token(runtime, twitch) != before
    assert runtime.twitch_connections.status(GUILD).is_connected  # the rotated pair is kept


async def test_a_grant_by_hand_survives_a_token_twitch_dropped(
    runtime: Runtime, twitch: FakeTwitch
) -> None:
    twitch.expire_token(stored_access_token(runtime, twitch))

    granted = await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 5)

    assert granted.platform_user_id == VIEWER
    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    # Get Users, the grant's first call, met the 401; the consent had looked the streamer up
    assert [r.status for r in twitch.requests_to("/helix/users")][-2:] == [401, 200]


async def test_only_a_refused_refresh_means_not_connected(
    runtime: Runtime, twitch: FakeTwitch
) -> None:
    twitch.revoke_grant()  # the streamer took StreamKeeper's access away on Twitch

    with pytest.raises(TwitchRefused) as refused:
        await runtime.vip.effects.twitch.add_vip(GUILD, BROADCASTER, VIEWER)

    assert refused.value.reason == Refusal.NOT_CONNECTED
    assert "Twitch is not connected" in str(refused.value)
    assert twitch.channels[BROADCASTER].vips == []
    assert runtime.twitch_connections.status(GUILD).needs_reauthorization
