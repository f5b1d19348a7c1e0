"""Two ``core bot`` processes (and a ``core web``) over PostgreSQL and Redis; the one asking
Twitch to add a redeemed VIP is killed with SIGKILL after Twitch added the VIP and before the
bot could write its grant. The other bot takes the call over once the dead one's heartbeat
lease runs out: Twitch answers its Add VIP with 422 "already a VIP", which it takes as the add
its dead peer made, and it writes the grant within 15 s of the kill. One grant, one audit
entry, one fulfillment.

The fake Twitch does the first Add VIP at once and holds its answer until the test has killed
the caller (``FakeTwitch.hold_answer_next``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from core.features.vip.tables import vip_audit, vip_grants
from core.outbox.store import DONE
from core.storage.tables import outbox
from tests.conftest import migrated_postgres_url
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import EVENTSUB_SECRET, REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.services import free_port
from tests.test_durability import BOT, Process, _wait_for_health
from tests.test_durability_vip import (
    BROADCASTER,
    GUILD,
    REDEEM,
    VIEWER,
    environment,
    redemption_event,
)
from tests.wiring.test_vip_streamer_token import connect_streamer

pytestmark = pytest.mark.slow

GRANT_WITHIN_SECONDS = 15.0  # the 6 s heartbeat lease, a poll and a call, with room for load
BOUND_SECONDS = 90.0  # a hang, not a measurement
VIPS = "/helix/channels/vips"
REDEMPTIONS = "/helix/channel_points/custom_rewards/redemptions"


def now() -> datetime:
    return datetime.now(UTC)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = BOUND_SECONDS) -> float:
    """Seconds it took ``condition`` to hold (it is asked every 0.1 s)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI]) as fake:
        fake.add_user(VIEWER, "viewer")
        yield fake


def prepare(tmp_path: Path, twitch: FakeTwitch, database_url: str) -> str:
    """The server follows the channel, the streamer connected, the reward exists: its id."""
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", now, DATABASE_URL=database_url)
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


def live_processes(engine: sa.Engine) -> list[str]:
    query = sa.text("SELECT holder FROM leases WHERE name LIKE 'process:%' AND expires_at > :now")
    with engine.connect() as conn:
        return list(conn.execute(query, {"now": now()}).scalars())


def caller_of_the_add(engine: sa.Engine) -> str | None:
    """The process name holding the redemption's outbox call."""
    query = sa.select(outbox.c.claimed_by).where(outbox.c.kind == "vip-redemption")
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def grants(engine: sa.Engine) -> int:
    query = sa.select(sa.func.count()).where(vip_grants.c.platform_user_id == VIEWER)
    with engine.connect() as conn:
        return int(conn.execute(query.select_from(vip_grants)).scalar_one())


def test_a_vip_added_by_a_killed_bot_is_granted_by_the_other_within_seconds(
    tmp_path: Path, twitch: FakeTwitch, request: pytest.FixtureRequest, redis_url: str
) -> None:
    database_url = migrated_postgres_url(request)
    redis.Redis.from_url(redis_url).flushdb()  # this test's stream only
    reward_id = prepare(tmp_path, twitch, database_url)
    port = free_port()
    env = {
        **environment(tmp_path, twitch, port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    url = f"http://127.0.0.1:{port}"
    engine = sa.create_engine(database_url)
    processes = {"web": Process(env, [*BOT[:-1], "web"], tmp_path / "web.log")}
    release = None
    try:
        for name in ("bot-a", "bot-b"):
            processes[name] = Process(env, BOT, tmp_path / f"{name}.log")
        _wait_for_health(url)
        wait_until(lambda: len(live_processes(engine)) == 2, "both bots beat")

        release = twitch.hold_answer_next(VIPS, method="POST")
        redemption_id = twitch.add_redemption(reward_id, VIEWER)
        sender = EventSubSender.http(url, now, secret=EVENTSUB_SECRET)
        status, answer = sender.notify(
            REDEEM, BROADCASTER, **redemption_event(twitch, redemption_id)
        )
        assert (status, answer["status"]) == (200, "queued"), answer
        channel = twitch.channels[BROADCASTER]
        wait_until(lambda: channel.vips == [VIEWER], "Twitch adds the VIP (its answer held)")
        caller = caller_of_the_add(engine)
        [dying] = [p for p in ("bot-a", "bot-b") if f"-{processes[p].popen.pid}-" in str(caller)]
        assert grants(engine) == 0

        processes[dying].kill()
        granted_after = wait_until(
            lambda: grants(engine) == 1, "the other bot writes the grant", GRANT_WITHIN_SECONDS
        )
        release.set()  # the dead caller's answer: nobody reads it
        wait_until(
            lambda: twitch.redemptions[redemption_id]["status"] == "FULFILLED",
            "the redemption is fulfilled",
        )
        wait_until(lambda: _outbox_settled(engine), "the calls end")
        time.sleep(3)  # nothing more happens
    finally:
        if release is not None:
            release.set()
        for process in processes.values():
            if process.popen.poll() is None:
                process.stop()
        engine.dispose()

    print(f"the grant was written {granted_after:.1f} s after the kill")  # noqa: T201
    engine = sa.create_engine(database_url)
    try:
        assert grants(engine) == 1
        with engine.connect() as conn:
            audit = conn.execute(sa.select(vip_audit.c.action, vip_audit.c.redemption_id)).all()
        assert [tuple(row) for row in audit] == [("granted", redemption_id)]
    finally:
        engine.dispose()
    adds = twitch.requests_to(VIPS, "POST")
    assert [r.status for r in adds] == [204, 422]  # the dead one's, then "already a VIP"
    fulfilled = [
        r for r in twitch.requests_to(REDEMPTIONS, "PATCH") if r.json == {"status": "FULFILLED"}
    ]
    assert len(fulfilled) == 1
    assert channel.vips == [VIEWER]


def _outbox_settled(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        states = conn.execute(sa.select(outbox.c.kind, outbox.c.state)).all()
    return bool(states) and all(state == DONE for _, state in states)
