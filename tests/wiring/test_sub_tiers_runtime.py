"""The tier feature as the runtime wires it, on the fake Twitch: a sub event through the
dispatcher lands in the record, and the lookup job asks Helix with the connected streamer's
token (the real Twitch connection, its consent and its stored tokens)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.features.connections.twitch.signin import PURPOSE_TWITCH_STREAMER
from core.platforms.twitch.notifications import parse_notification
from core.runtime import Runtime
from core.security.links import new_claims
from tests.conftest import FIXTURES
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock

GUILD = 4242
BROADCASTER = "141981764"  # the fake's consenting streamer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock: Clock) -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        yield fake


@pytest.fixture
async def runtime(tmp_path, twitch: FakeTwitch, clock: Clock) -> AsyncIterator[Runtime]:
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", clock)
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    yield runtime
    await runtime.sub_tier_lookup.aclose()  # what the runtime's shutdown hook does
    runtime.close()


async def connect(runtime: Runtime) -> None:
    claims = new_claims(PURPOSE_TWITCH_STREAMER, 777, GUILD, runtime.clock())
    url = runtime.twitch_connections.begin(PURPOSE_TWITCH_STREAMER, claims, "n" * 43)
    answer = await asyncio.to_thread(httpx.get, url, follow_redirects=False)
    callback = answer.headers["location"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(callback).query).items()}
    await runtime.twitch_connections.complete(
        state=query["state"], code=query.get("code"), error=None, browser_nonce="n" * 43
    )


def test_the_lookup_job_is_scheduled(runtime: Runtime) -> None:
    assert "looking up subscription tiers" in runtime.scheduler.loops
    assert runtime.chat_commands is not None


async def test_a_twitch_sub_event_reaches_the_record(runtime: Runtime, clock: Clock) -> None:
    body = json.loads((FIXTURES / "twitch" / "channel.subscribe.json").read_text())
    body["event"]["broadcaster_user_id"] = BROADCASTER
    event = parse_notification("channel.subscribe", body, message_id="m1", delivered_at=clock())
    assert event is not None
    await runtime.dispatcher(event)

    sub = runtime.sub_tiers.tier_of(GUILD, "twitch", "1234")
    assert sub is not None
    assert (sub.tier, sub.source) == ("1", "twitch:channel.subscribe")


async def test_the_lookup_uses_the_streamers_token(runtime: Runtime, twitch: FakeTwitch) -> None:
    await connect(runtime)
    twitch.add_subscriber(BROADCASTER, "5000", "3000")
    runtime.sub_tiers.request_lookup(GUILD, "twitch", {"5000": "3001", "5001": "12"})
    await runtime.sub_tiers.run_lookups()

    [call] = twitch.requests_to("/helix/subscriptions")
    assert (call.status, call.auth, call.query["broadcaster_id"]) == (200, "user", [BROADCASTER])
    found = runtime.sub_tiers.tiers_of(GUILD, "twitch", ["5000", "5001"])
    assert {uid: (s.tier, s.source) for uid, s in found.items()} == {"5000": ("3", "helix")}


async def test_without_a_connection_the_badge_is_the_hint(
    runtime: Runtime, twitch: FakeTwitch
) -> None:
    runtime.sub_tiers.request_lookup(GUILD, "twitch", {"5000": "2003"})
    await runtime.sub_tiers.run_lookups()

    assert twitch.requests_to("/helix/subscriptions") == []
    sub = runtime.sub_tiers.tier_of(GUILD, "twitch", "5000")
    assert sub is not None
    assert (sub.tier, sub.is_prime, sub.source) == ("2", False, "badge")


async def test_a_twitch_subscription_end_closes_the_record(runtime: Runtime, clock: Clock) -> None:
    for name, message_id in (("channel.subscribe", "m1"), ("channel.subscription.end", "m2")):
        body = json.loads((FIXTURES / "twitch" / f"{name}.json").read_text())
        body["event"]["broadcaster_user_id"] = BROADCASTER
        event = parse_notification(name, body, message_id=message_id, delivered_at=clock())
        assert event is not None
        await runtime.dispatcher(event)
        clock.advance(60)

    assert runtime.sub_tiers.tier_of(GUILD, "twitch", "1234") is None
