"""Kill -9 between a temporary VIP's grant and its expiry: the restarted process still removes
the VIP when it is due, exactly once, and the audit log is complete.

A real ``python -m core run`` talks to the fake Twitch on 127.0.0.1 (its OAuth and Helix) and
takes Twitch's signed EventSub webhooks on a loopback port. The streamer connects and the reward
is set up beforehand, through a Runtime on the same database. A grant lasts at least an hour;
while the process is dead the test moves the stored expiry to a few seconds from now, so that it
falls due around the restart (the expiry job runs at start, catching up, then every minute).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.features.vip.tables import vip_grants
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import (
    EVENTSUB_SECRET,
    REDIRECT_URI,
    runtime_on_fake_twitch,
)
from tests.fakes.twitch_server import CLIENT_ID, CLIENT_SECRET, FakeTwitch
from tests.services import free_port
from tests.support import loopback_only
from tests.support.waiting import PROCESS_HANG_SECONDS
from tests.test_durability import Process, _cli, _wait_for_health
from tests.wiring.test_vip_streamer_token import connect_streamer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GUILD = 300000000000000013
BROADCASTER = "141981764"  # twitchdev, who consents at the fake
VIEWER = "5000"
REDEEM = "channel.channel_points_custom_reward_redemption.add"


def now() -> datetime:
    return datetime.now(UTC)


NO_LONGER_VIP = "Viewer is no longer a VIP (the VIP time is over)."


def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = PROCESS_HANG_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI]) as fake:
        fake.add_user(VIEWER, "viewer")
        yield fake


def environment(tmp_path: Path, twitch: FakeTwitch, port: int) -> dict[str, str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("KICK_", "TWITCH_", "DISCORD_", "DATABASE_", "REDIS_", "PORT", "HOST", "OAUTH_")
        )
    }
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "TWITCH_API_BASE_URL": twitch.helix_url,
        "TWITCH_OAUTH_BASE_URL": twitch.oauth_url,
        "TWITCH_CLIENT_ID": CLIENT_ID,
        "TWITCH_CLIENT_SECRET": CLIENT_SECRET,
        "TWITCH_EVENTSUB_SECRET": EVENTSUB_SECRET,
        "OAUTH_BASE_URL": "https://bot.test",  # public: webhooks, no EventSub WebSocket
        "FLASK_SECRET_KEY": "fake-twitch-runtime-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "KICK_PUSHER_ENABLED": "false",
        "KICK_API_BASE_URL": loopback_only.NOBODY,  # no Kick here: its public key is not fetched
        "RAFFLE_BEACON_URL": loopback_only.NOBODY,
    }


def prepare(tmp_path: Path, twitch: FakeTwitch) -> str:
    """The server follows the channel, the streamer connected, the reward exists: its id."""
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", now)
    try:
        runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)

        async def connect_and_set_up() -> str:
            await connect_streamer(runtime, GUILD)
            setup = await runtime.vip.setup(GUILD, 900, "VIP for an hour", 500, 1)
            await runtime.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
            return setup.reward.id

        return asyncio.run(connect_and_set_up())
    finally:
        runtime.close()


def redemption_event(twitch: FakeTwitch, redemption_id: str) -> dict:
    held = twitch.redemptions[redemption_id]
    return {
        "id": redemption_id,
        "user_id": held["user_id"],
        "user_login": held["user_login"],
        "user_name": held["user_name"],
        "user_input": "",
        "status": "unfulfilled",
        "reward": held["reward"],
        "redeemed_at": held["redeemed_at"],
    }


def audit(env: dict[str, str]) -> list[dict]:
    result = _cli(env, "export", "--guild", str(GUILD), "--what", "vip-audit", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_vip_granted_before_a_kill_is_removed_once_by_the_restarted_process(
    tmp_path: Path, twitch: FakeTwitch
) -> None:
    reward_id = prepare(tmp_path, twitch)
    port = free_port()
    env = environment(tmp_path, twitch, port)
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "core", "run"]
    log = tmp_path / "run.log"
    sender = EventSubSender.http(url, now, secret=EVENTSUB_SECRET)
    channel = twitch.channels[BROADCASTER]

    process = Process(env, command, log)
    try:
        _wait_for_health(url)
        redemption_id = twitch.add_redemption(reward_id, VIEWER)
        fields = redemption_event(twitch, redemption_id)
        status, answer = sender.notify(REDEEM, BROADCASTER, **fields)
        assert (status, answer["status"]) == (200, "queued"), answer
        wait_until(lambda: channel.vips == [VIEWER], "the VIP is granted")
        wait_until(
            lambda: twitch.redemptions[redemption_id]["status"] == "FULFILLED",
            "the redemption is fulfilled",
        )
        process.kill()  # SIGKILL: no shutdown hook runs

        # While it is down, the grant falls due (the stored expiry moved to a moment from now).
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'streamkeeper.sqlite3'}")
        with engine.begin() as conn:
            moved = conn.execute(
                vip_grants.update()
                .where(vip_grants.c.platform_user_id == VIEWER, vip_grants.c.removed_at.is_(None))
                .values(expires_at=now() + timedelta(seconds=2))
            )
            assert moved.rowcount == 1
        engine.dispose()
        assert channel.vips == [VIEWER]  # nobody removed it meanwhile

        process = Process(env, command, log)
        _wait_for_health(url)
        wait_until(lambda: channel.vips == [], "the restarted process removes the VIP")

        # Twitch delivers the redemption once more (another message id): nothing changes.
        status, answer = sender.notify(REDEEM, BROADCASTER, **fields)
        assert status == 200, answer
        # The removal's notice is a chat call of its own: said before the process stops.
        wait_until(lambda: NO_LONGER_VIP in [m.message for m in twitch.chat_messages], "notice")
        time.sleep(3)  # room for a second grant, were the redelivery wrongly to make one
    finally:
        process.stop()

    assert channel.vips == []
    removals = twitch.requests_to("/helix/channels/vips", "DELETE")
    assert [r.status for r in removals] == [204]  # exactly once
    rows = audit(env)
    assert [(row["action"], row["platform_user_id"]) for row in rows] == [
        ("granted", VIEWER),
        ("removed", VIEWER),
    ]
    granted, removed = rows
    assert granted["redemption_id"] == redemption_id
    assert (granted["actor_kind"], removed["actor_kind"]) == ("viewer", "system")
    assert removed["reason"] == "expired"
    # The grant's notice may have died with the process; the removal's did not, and nothing
    # announces a VIP that has already ended.
    said = [m.message for m in twitch.chat_messages]
    assert said[-1] == NO_LONGER_VIP
    assert "Viewer is a VIP until never." not in said
