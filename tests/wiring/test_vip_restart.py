"""A grant outlives the process: granted by one runtime, removed by the next one's job, once
the clock is past its expiry (Twitch is the fake on 127.0.0.1; the streamer connected for real,
and the next runtime refreshes the token that expired meanwhile)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from core.events import Platform, RewardRedeemed, Viewer
from core.runtime import Runtime
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock
from tests.wiring.test_vip_streamer_token import (
    BROADCASTER,
    GUILD,
    VIEWER,
    clock,
    connect_streamer,
    twitch,
)

__all__ = ["clock", "twitch"]  # the fixtures, shared


def build(tmp_path: Path, twitch: FakeTwitch, clock: Clock) -> Runtime:
    return runtime_on_fake_twitch(twitch, tmp_path / "data", clock)


async def test_a_grant_is_removed_by_the_next_runtime_after_expiry(
    tmp_path: Path, twitch: FakeTwitch, clock: Clock
) -> None:
    first = build(tmp_path, twitch, clock)
    # Rule grants the workers gave up on are queued again on the missed redemptions' rhythm.
    assert "retaking given-up VIP rule grants" in first.scheduler.loops
    first.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    await connect_streamer(first)
    setup = await first.vip.setup(GUILD, 900, "VIP for a day", 500, 24)
    redemption_id = twitch.add_redemption(setup.reward.id, VIEWER)
    event = RewardRedeemed(
        platform=Platform.TWITCH,
        event_id=f"{redemption_id}:unfulfilled",
        redemption_id=redemption_id,
        broadcaster_user_id=BROADCASTER,
        occurred_at=clock(),
        viewer=Viewer(VIEWER, "viewer"),
        reward_id=setup.reward.id,
        cost=500,
        status="unfulfilled",
    )
    await first.dispatcher(event)  # the bus's path: every guild following the channel
    assert twitch.channels[BROADCASTER].vips == []  # queued: the handler calls no one
    stop = asyncio.Event()
    calls = asyncio.create_task(first.scheduler.loops["twitch-helix calls"](stop))
    for _ in range(200):
        if twitch.redemptions[redemption_id]["status"] == "FULFILLED":
            break
        await asyncio.sleep(0.05)
    stop.set()
    await calls
    assert twitch.channels[BROADCASTER].vips == [VIEWER]
    assert twitch.redemptions[redemption_id]["status"] == "FULFILLED"
    await first.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
    await first.twitch.close_chat()
    first.close()

    clock.advance(timedelta(hours=25))  # the streamer's access token expired meanwhile
    second = build(tmp_path, twitch, clock)
    stop = asyncio.Event()
    # The expiry job queues the removal; the Twitch Helix worker makes it.
    loops = [second.scheduler.loops[n] for n in ("expiring temporary VIPs", "twitch-helix calls")]
    jobs = [asyncio.create_task(loop(stop)) for loop in loops]
    for _ in range(200):
        if not twitch.channels[BROADCASTER].vips:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*jobs)
    await second.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
    await second.twitch.close_chat()

    assert twitch.channels[BROADCASTER].vips == []
    assert await second.vip.list_vips(GUILD) == []
    [removed] = await second.vip.log(GUILD, limit=1)
    assert (removed.action, removed.reason) == ("removed", "expired")
    second.close()
