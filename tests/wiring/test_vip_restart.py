"""A grant outlives the process: granted by one runtime, removed by the next one's job, once
the clock is past its expiry (Twitch is the fake on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from core.config import load_settings
from core.events import Platform, RewardRedeemed, Viewer
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID, Clock

GUILD = 111
VIEWER = "5000"


def build(tmp_path: Path, twitch: FakeTwitch, clock: Clock, kick_keys, token: str) -> Runtime:
    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "PORT": "0",
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
            "FLASK_SECRET_KEY": "test-link-secret",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "TWITCH_CLIENT_ID": CLIENT_ID,
            "TWITCH_API_BASE_URL": twitch.helix_url,
        },
        env_file=None,
    )
    runtime = Runtime(settings, clock=clock)
    runtime.migrate()

    # The guild's stored broadcaster token, as if the streamer had connected Twitch.
    async def access_token(guild_id: int) -> str:
        if guild_id != GUILD:
            raise LookupError("not connected")
        return token

    runtime.twitch_connections.access_token = access_token  # type: ignore[method-assign]
    return runtime


async def test_a_grant_is_removed_by_the_next_runtime_after_expiry(
    tmp_path: Path, twitch: FakeTwitch, clock: Clock, kick_keys
) -> None:
    token = twitch.issue_user_token()
    twitch.add_user(VIEWER, "viewer")
    first = build(tmp_path, twitch, clock, kick_keys, token)
    first.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER_ID)
    setup = await first.vip.setup(GUILD, 900, "VIP for a day", 500, 24)
    redemption_id = twitch.add_redemption(setup.reward.id, VIEWER)
    event = RewardRedeemed(
        platform=Platform.TWITCH,
        event_id=redemption_id,
        broadcaster_user_id=BROADCASTER_ID,
        occurred_at=clock(),
        viewer=Viewer(VIEWER, "viewer"),
        reward_id=setup.reward.id,
        cost=500,
    )
    await first.dispatcher(event)  # the bus's path: every guild following the channel
    assert twitch.channels[BROADCASTER_ID].vips == [VIEWER]
    assert twitch.redemptions[redemption_id]["status"] == "FULFILLED"
    await first.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
    first.close()

    clock.advance(timedelta(hours=25).total_seconds())
    fresh = twitch.issue_user_token()  # the connection refreshed the expired one
    second = build(tmp_path, twitch, clock, kick_keys, fresh)
    stop = asyncio.Event()
    job = asyncio.create_task(second.scheduler.loops["expiring temporary VIPs"](stop))
    for _ in range(200):
        if not twitch.channels[BROADCASTER_ID].vips:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await job
    await second.vip.effects.twitch.aclose()  # type: ignore[attr-defined]

    assert twitch.channels[BROADCASTER_ID].vips == []
    assert await second.vip.list_vips(GUILD) == []
    [removed] = await second.vip.log(GUILD, limit=1)
    assert (removed.action, removed.reason) == ("removed", "expired")
    second.close()
