"""Twitch's VIP limit held by 2 and by 3 real ``core bot`` processes over PostgreSQL and Redis:
at most 10 Add VIP requests reach Twitch in any 10 seconds per channel, every request counted
(resends after a 429 and after a refused token included), and every redemption ends fulfilled
exactly once.

The web process (``python -m core web``) takes Twitch's signed EventSub webhooks and queues them
on Redis; the bot processes read them and make the calls through their ``twitch-helix`` outbox
workers, each process with its own window object on the same Redis. Two bursts run at once, on
two channels of the fake Twitch: 30 redemptions of one guild's reward on the first, and 30
spread over three guilds that follow the second (three rewards, three connections, one
channel's limit). The fake records when each request arrived and answers some Add VIP requests
429 (with ``Ratelimit-Reset``) and 401 (the bot then refreshes the token and sends again), as
Twitch would.

Each burst needs at least 20 s by Twitch's limit (30 additions, 10 per 10 s); the two run side
by side, so a run takes about half a minute after the processes are up.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.features.vip.tables import vip_audit, vip_grants, vip_redemptions
from tests import services
from tests.conftest import migrated_postgres_url
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import EVENTSUB_SECRET, REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch, RecordedRequest
from tests.ratelimits.test_windows import most_in_any_stretch
from tests.services import free_port
from tests.test_durability import Process, _wait_for_health
from tests.test_durability_vip import environment, redemption_event
from tests.wiring.test_vip_streamer_token import connect_streamer

pytestmark = pytest.mark.slow

VIPS = "/helix/channels/vips"
REDEEM = "channel.channel_points_custom_reward_redemption.add"
LONE_CHANNEL = "141981764"  # twitchdev: one guild's
SHARED_CHANNEL = "555000111"  # three guilds'
LONE_GUILD = 300000000000000021
SHARED_GUILDS = [LONE_GUILD + n * (1 << 22) for n in (1, 2, 3)]  # other shards: other owners
BURST = 30
LIMIT, WINDOW_SECONDS = 10, 10.0
# Redis stamps slots with its clock, the fake stamps arrivals with this process's monotonic
# clock: over 10 s the two may differ by a few ms.
CLOCKS_APART_SECONDS = 0.01
DONE_WITHIN_SECONDS = 150  # far above the ~25 s a burst takes: a hang, not a measurement


def now() -> datetime:
    return datetime.now(UTC)


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI]) as fake:
        fake.add_channel(SHARED_CHANNEL, "sharedchannel")
        fake.add_user(SHARED_CHANNEL, "sharedchannel")
        for broadcaster in (LONE_CHANNEL, SHARED_CHANNEL):
            fake.channels[broadcaster].vip_slots = 100
        yield fake


@pytest.fixture
def own_redis() -> Iterator[str]:
    """A Redis of this test's own: the bots' stream starts empty."""
    try:
        with services.redis_server() as url:
            yield url
    except services.ServiceUnavailable as exc:
        pytest.skip(str(exc))


def prepare(tmp_path: Path, twitch: FakeTwitch, database_url: str) -> dict[int, str]:
    """Each guild follows its channel, its streamer connected, its reward set up (chat notices
    off): the reward ids by guild."""
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", now, DATABASE_URL=database_url)
    follows = {LONE_GUILD: LONE_CHANNEL} | dict.fromkeys(SHARED_GUILDS, SHARED_CHANNEL)
    try:

        async def set_up() -> dict[int, str]:
            rewards = {}
            for number, (guild_id, broadcaster) in enumerate(follows.items()):
                login = "twitchdev" if broadcaster == LONE_CHANNEL else "sharedchannel"
                runtime.guilds.set_twitch_channel(guild_id, login, broadcaster)
                twitch.consenting_user_id = broadcaster  # who consents at the fake
                await connect_streamer(runtime, guild_id)
                setup = await runtime.vip.setup(guild_id, 900, f"VIP {number}", 500, 1)
                await runtime.vip.update_settings(guild_id, is_chat_notices=False)
                rewards[guild_id] = setup.reward.id
            await runtime.vip.effects.twitch.aclose()  # type: ignore[attr-defined]
            return rewards

        return asyncio.run(set_up())
    finally:
        runtime.close()


def live_bots(engine: sa.Engine) -> int:
    """How many processes hold a live partition lease."""
    query = sa.text(
        "SELECT DISTINCT holder FROM leases WHERE name LIKE 'partition:%' AND expires_at > :now"
    )
    with engine.connect() as conn:
        return len(conn.execute(query, {"now": now()}).all())


def additions_to(twitch: FakeTwitch, broadcaster: str) -> list[RecordedRequest]:
    return [
        r for r in twitch.requests_to(VIPS, "POST") if r.query["broadcaster_id"] == [broadcaster]
    ]


def script_refusals(twitch: FakeTwitch) -> None:
    """Two 429s with the bucket empty for a second, and one 401, on the first Add VIP calls."""
    reset = str(int(time.time()) + 1)
    empty = {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0", "Ratelimit-Reset": reset}
    twitch.fail_next(VIPS, 429, method="POST", headers=empty)
    twitch.fail_next(VIPS, 401, method="POST")
    twitch.fail_next(VIPS, 429, method="POST", headers=empty)


@pytest.mark.parametrize("bots", [2, 3])
def test_bot_processes_keep_twitchs_vip_limit_per_channel_together(
    tmp_path: Path, twitch: FakeTwitch, own_redis: str, request: pytest.FixtureRequest, bots: int
) -> None:
    database_url = migrated_postgres_url(request)
    rewards = prepare(tmp_path, twitch, database_url)
    port = free_port()
    env = environment(tmp_path, twitch, port) | {
        "DATABASE_URL": database_url,
        "REDIS_URL": own_redis,
        "LOG_LEVEL": os.environ.get("SK_TEST_LOG_LEVEL", "INFO"),
    }
    url = f"http://127.0.0.1:{port}"
    engine = sa.create_engine(database_url)
    processes = [Process(env, [sys.executable, "-m", "core", "web"], tmp_path / "web.log")]
    try:
        for number in range(bots):
            command = [sys.executable, "-m", "core", "bot"]
            processes.append(Process(env, command, tmp_path / f"bot-{number}.log"))
        _wait_for_health(url)
        wait_until(lambda: live_bots(engine) == bots, f"{bots} bots share the guilds", 60)

        script_refusals(twitch)
        sender = EventSubSender.http(url, now, secret=EVENTSUB_SECRET)
        redeemed: dict[str, tuple[int, str]] = {}  # redemption id -> guild, viewer
        for n in range(BURST):
            for guild_id in (LONE_GUILD, SHARED_GUILDS[n % 3]):
                viewer = str(70000 + len(redeemed))
                twitch.add_user(viewer, f"viewer{viewer}")
                redemption_id = twitch.add_redemption(rewards[guild_id], viewer)
                redeemed[redemption_id] = (guild_id, viewer)
                status, answer = sender.notify(
                    REDEEM,
                    twitch.redemptions[redemption_id]["broadcaster_id"],
                    **redemption_event(twitch, redemption_id),
                )
                assert status == 200, answer

        def settled() -> bool:
            statuses = (twitch.redemptions[r]["status"] for r in redeemed)
            return all(status != "UNFULFILLED" for status in statuses)

        wait_until(settled, "every redemption is fulfilled or refunded", DONE_WITHIN_SECONDS)
        time.sleep(1)  # anything sent twice would arrive now
    finally:
        for process in processes:
            process.stop()

    try:
        check(twitch, engine, redeemed)
    finally:
        engine.dispose()


def check(twitch: FakeTwitch, engine: sa.Engine, redeemed: dict[str, tuple[int, str]]) -> None:
    for broadcaster in (LONE_CHANNEL, SHARED_CHANNEL):
        arrivals = additions_to(twitch, broadcaster)
        times = [r.arrived_at for r in arrivals]
        most = most_in_any_stretch(times, WINDOW_SECONDS - CLOCKS_APART_SECONDS)
        assert most <= LIMIT, f"{most} Add VIP requests reached {broadcaster} within 10 s"
        granted = Counter(r.query["user_id"][0] for r in arrivals if r.status == 204)
        assert len(granted) == BURST
        assert set(granted.values()) == {1}
    assert Counter(r.status for r in twitch.requests_to(VIPS, "POST")) == {
        204: 2 * BURST,
        429: 2,
        401: 1,
    }

    # Twitch: every redemption fulfilled, by one status change each.
    assert {twitch.redemptions[r]["status"] for r in redeemed} == {"FULFILLED"}
    changed = Counter(
        redemption_id
        for r in twitch.requests_to("/helix/channel_points/custom_rewards/redemptions", "PATCH")
        if r.status == 200
        for redemption_id in r.query["id"]
    )
    assert changed == dict.fromkeys(redeemed, 1)

    # Ours: one settled redemption, one grant and one "granted" audit row per redemption.
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                vip_redemptions.c.guild_id, vip_redemptions.c.redemption_id, vip_redemptions.c.state
            )
        ).all()
        grants = conn.execute(
            sa.select(vip_grants.c.guild_id, vip_grants.c.platform_user_id).where(
                vip_grants.c.removed_at.is_(None)
            )
        ).all()
        audit = conn.execute(
            sa.select(vip_audit.c.redemption_id).where(vip_audit.c.action == "granted")
        ).all()
    assert sorted((guild, rid) for guild, rid, _ in rows) == sorted(
        (guild, rid) for rid, (guild, _) in redeemed.items()
    )
    assert {state for _, _, state in rows} == {"done"}
    assert sorted(grants) == sorted(redeemed.values())
    assert Counter(rid for (rid,) in audit) == dict.fromkeys(redeemed, 1)
