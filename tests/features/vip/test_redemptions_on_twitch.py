"""VIP redemptions end to end on the real Runtime, its Twitch connection and the fake Twitch on
127.0.0.1 (Helix and OAuth): what the viewer reads in chat and what Twitch ends up holding when
Twitch refuses part of the flow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from core.events import Platform, RewardRedeemed, Viewer
from core.runtime import Runtime
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.features.connections import test_twitch_connection as connection_tests
from tests.features.connections.test_twitch_connection import (
    BROADCASTER,
    GUILD,
    complete,
    consent,
)
from tests.support.delivery import make_queued_calls

# A fake Twitch and its clock, as the connection tests have them.
clock = connection_tests.clock
twitch = connection_tests.twitch


@pytest.fixture
async def runtime(tmp_path, twitch, clock, migrated_database_url) -> AsyncIterator[Runtime]:
    """A runtime on the fake Twitch with the guild following BROADCASTER; its HTTP clients
    are opened on the test's loop, so they are closed there too."""
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    yield runtime
    await runtime.shutdown()
    runtime.close()


ADMIN = 777
VIEWER = "5000"


async def redeem(runtime, twitch, reward_id: str) -> tuple[str, RewardRedeemed]:  # type: ignore[no-untyped-def]
    redemption_id = twitch.add_redemption(reward_id, VIEWER)
    event = RewardRedeemed(
        platform=Platform.TWITCH,
        event_id=f"{redemption_id}:unfulfilled",
        redemption_id=redemption_id,
        broadcaster_user_id=BROADCASTER,
        occurred_at=runtime.clock(),
        viewer=Viewer(VIEWER, "Viewer"),
        reward_id=reward_id,
        reward_title="VIP for a day",
        cost=500,
        status="unfulfilled",
    )
    return redemption_id, event


async def test_a_401_a_fresh_token_does_not_cure_refunds_and_asks_to_connect_again(
    runtime, twitch, caplog
):
    """The streamer's grant lacks channel:manage:vips: Add VIP answers 401, and again with the
    token one refresh just gave. StreamKeeper stops there (no refresh after refresh), marks the
    connection as needing re-authorization, says why in one log line, and refunds the viewer."""
    await asyncio.to_thread(complete, runtime, consent(runtime, drop_scope="channel:manage:vips"))
    twitch.add_user(VIEWER, "viewer")
    reward_id = (await runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24)).reward.id
    redemption_id, event = await redeem(runtime, twitch, reward_id)

    with caplog.at_level(logging.WARNING):
        for _ in range(2):  # Twitch may deliver it again: nothing more happens
            await runtime.vip.queued.handle(GUILD, event)
            await make_queued_calls(runtime)

    assert twitch.channels[BROADCASTER].vips == []
    assert twitch.redemptions[redemption_id]["status"] == "CANCELED"  # the points are back
    # Chat goes as the streamer too, so no line there until they connect again.
    assert runtime.twitch_connections.status(GUILD).needs_reauthorization
    refreshes = [
        r
        for r in twitch.requests_to("/oauth2/token")
        if (r.form or {}).get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1
    [why] = [r.getMessage() for r in caplog.records if "re-authorization" in r.getMessage()]
    assert "channel:manage:vips" in why
    assert "client id" in why
    assert [entry.action for entry in await runtime.vip.log(GUILD)] == ["refunded", "refused"]


async def test_a_vip_given_by_hand_stays_theirs_when_twitch_fails_to_say_so_at_first(
    runtime, twitch, clock
):
    """Add VIP answers 422 (a moderator, or a VIP already: here one given by hand), and the
    Get VIPs that tells which fails (5xx). Nothing was added, so the next try is a first one:
    the viewer's own VIP is not taken for ours (and removed when the time is up); the
    redemption is refunded and the VIP tracked as outside."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    twitch.add_user(VIEWER, "viewer")
    reward_id = (await runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24)).reward.id
    twitch.channels[BROADCASTER].vips.append(VIEWER)  # given by hand since
    redemption_id, event = await redeem(runtime, twitch, reward_id)
    twitch.fail_next("/helix/channels/vips", 503, method="GET", times=20)

    await runtime.vip.queued.handle(GUILD, event)
    await make_queued_calls(runtime)
    for _ in range(30):  # the worker tries again, later
        clock.advance(seconds=300)
        await make_queued_calls(runtime)
        if twitch.redemptions[redemption_id]["status"] != "UNFULFILLED":
            break

    assert twitch.redemptions[redemption_id]["status"] == "CANCELED"  # the points are back
    [grant] = await runtime.vip.list_vips(GUILD)
    assert grant.source == "outside"
    assert twitch.channels[BROADCASTER].vips == [VIEWER]
