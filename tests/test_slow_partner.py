"""A slow or failing partner delays only its own effects (issue 26, "Done when"): one guild's
Twitch answers 500, or hangs 30 s, on every Add VIP while it and 100 other guilds stream and
chat. The real pipeline runs (bus consumer, scheduler, the Twitch Helix outbox worker) on the
wall clock with 2-second ticks, against the fake Twitch on 127.0.0.1; every guild's clock is
watched as the ticks run.

Every guild is ticked at every instant the scheduler ticks (the same instants in all 101; on a
loaded machine the scheduler itself may pass over an instant, for every guild alike), every
viewer is credited exactly the seconds from their guild's first tick to its last, and the VIP
guild's redemptions are still waiting on Twitch when the test ends: the partner's trouble and
the ticks overlapped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.events import ChatMessageSent, Platform, RewardRedeemed, Viewer, system_clock
from core.outbox import store
from core.runtime import Runtime
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.events import chat_message
from tests.wiring.test_vip_streamer_token import BROADCASTER, connect_streamer

pytestmark = pytest.mark.slow

INTERVAL = 2
VIP_GUILD = 300000000000000021
KICK_GUILDS = [VIP_GUILD + (n + 1) * (1 << 22) for n in range(100)]
REDEMPTIONS = 12
TICKS_WATCHED = 4


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch(redirect_uris=[REDIRECT_URI]) as fake:
        for n in range(REDEMPTIONS):
            fake.add_user(str(6000 + n), f"redeemer{n}")
        yield fake


@pytest.fixture
async def runtime(tmp_path: Path, twitch: FakeTwitch) -> AsyncIterator[Runtime]:
    # The embedded default (SQLite); the two-bot kill test runs the split deployment.
    runtime = runtime_on_fake_twitch(
        twitch,
        tmp_path / "data",
        system_clock,
        WATCH_INTERVAL_SECONDS=str(INTERVAL),
        ACTIVE_WINDOW_MINUTES="1",
    )
    runtime.guilds.set_twitch_channel(VIP_GUILD, "twitchdev", BROADCASTER)
    await connect_streamer(runtime, VIP_GUILD)
    for n, guild_id in enumerate(KICK_GUILDS):
        runtime.guilds.set_kick_channel(guild_id, f"channel{n}", str(800_000 + n))
    yield runtime
    runtime.close()


def chats(now: datetime) -> list[ChatMessageSent]:
    """One viewer in each guild's channel, and one in the VIP guild's Twitch chat."""
    said = [
        chat_message("gg", broadcaster=str(800_000 + n), user_id=str(700_000 + n), at=now)
        for n in range(len(KICK_GUILDS))
    ]
    twitch_chat = chat_message(
        "hi", platform=Platform.TWITCH, broadcaster=BROADCASTER, user_id="5999", at=now
    )
    return [*said, twitch_chat]


def redemptions(twitch: FakeTwitch, reward_id: str, now: datetime) -> list[RewardRedeemed]:
    events = []
    for n in range(REDEMPTIONS):
        viewer = str(6000 + n)
        redemption_id = twitch.add_redemption(reward_id, viewer)
        events.append(
            RewardRedeemed(
                platform=Platform.TWITCH,
                event_id=f"{redemption_id}:unfulfilled",
                redemption_id=redemption_id,
                broadcaster_user_id=BROADCASTER,
                occurred_at=now,
                viewer=Viewer(viewer, f"Redeemer{n}"),
                reward_id=reward_id,
                reward_title="VIP for a day",
                cost=500,
                status="unfulfilled",
            )
        )
    return events


async def watch_ticks(runtime: Runtime, ticks: dict[int, list[datetime]], stop) -> None:  # type: ignore[no-untyped-def]
    """Each guild's clock as it moves (every 50 ms)."""
    query = sa.text("SELECT guild_id, last_tick_at FROM watch_settings")

    def read() -> list[tuple[int, datetime]]:
        with runtime.engine.connect() as conn:
            return [(g, at) for g, at in conn.execute(query) if at is not None]

    while not stop.is_set():
        for guild_id, at in await asyncio.to_thread(read):
            at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
            seen = ticks.setdefault(guild_id, [])
            if not seen or at > seen[-1]:
                seen.append(at)
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("trouble", ["500", "hang"])
async def test_a_guild_whose_twitch_fails_or_hangs_holds_no_other_guilds_tick(
    runtime: Runtime, twitch: FakeTwitch, trouble: str
):
    reward_id = (await runtime.vip.setup(VIP_GUILD, 777, "VIP for a day", 500, 24)).reward.id
    if trouble == "500":
        twitch.fail_next("/helix/channels/vips", 500, times=1000, method="POST")
    else:
        twitch.hang_next("/helix/channels/vips", 30, times=1000, method="POST")
    stop, watching = asyncio.Event(), asyncio.Event()
    ticks: dict[int, list[datetime]] = {}
    pipeline = asyncio.create_task(runtime.run_pipeline(stop))
    watcher = asyncio.create_task(watch_ticks(runtime, ticks, watching))
    try:
        await _wait_until_mid_interval()
        now = datetime.now(UTC)
        for event in [*redemptions(twitch, reward_id, now), *chats(now)]:
            await asyncio.to_thread(runtime.bus.publish, event)
        # Chats every interval keep the viewers present; the ticks run meanwhile.
        for _ in range(TICKS_WATCHED):
            await _wait_until_mid_interval(after=time.time() + 0.5)
            for event in chats(datetime.now(UTC)):
                await asyncio.to_thread(runtime.bus.publish, event)
        await asyncio.to_thread(_wait_for_last_tick, ticks)
        outbox = await asyncio.to_thread(_vip_outbox, runtime)
    finally:
        watching.set()
        stop.set()
        await asyncio.gather(pipeline, watcher, return_exceptions=True)

    # Twitch was asked and stalled: answered 500, or still making the first call at the end.
    if trouble == "500":
        assert twitch.requests_to("/helix/channels/vips", "POST")
    else:
        assert (store.PENDING, store.IN_FLIGHT) in outbox
    assert len(outbox) == REDEMPTIONS
    assert {state for state, _ in outbox} == {store.PENDING}
    everyone = [VIP_GUILD, *KICK_GUILDS]
    # Every guild was ticked at every instant the scheduler ticked (the stalled guild's too),
    # none waiting on another: the same instants everywhere, from first to last.
    instants = ticks[VIP_GUILD]
    assert len(instants) >= TICKS_WATCHED - 1  # the first only starts the clocks
    for guild_id in everyone:
        assert ticks[guild_id] == instants
    first, last = instants[0], instants[-1]
    seconds = int((last - first).total_seconds())
    totals = {
        g: {row.platform_user_id: row.seconds for row in runtime.watchtime.export(g)}
        for g in everyone
    }
    assert totals[VIP_GUILD] == {"5999": seconds}
    for n, guild_id in enumerate(KICK_GUILDS):
        assert totals[guild_id] == {str(700_000 + n): seconds}


async def _wait_until_mid_interval(after: float | None = None) -> None:
    """Sleep until 0.6-1.2 s into an interval (after ``after``): a tick instant is never near."""
    now = time.time()
    start = max(now, after or now)
    into = start % INTERVAL
    wait = (start - now) + ((0.6 - into) % INTERVAL if not 0.6 <= into <= 1.2 else 0)
    await asyncio.sleep(wait)


def _wait_for_last_tick(ticks: dict[int, list[datetime]]) -> None:
    """Until the instant after the last chats has been ticked in every guild (at most 30 s)."""
    target = datetime.fromtimestamp((int(time.time()) // INTERVAL + 1) * INTERVAL, UTC)
    deadline = time.monotonic() + 30
    everyone = [VIP_GUILD, *KICK_GUILDS]
    while time.monotonic() < deadline:
        if all(ticks.get(g) and ticks[g][-1] >= target for g in everyone):
            return
        time.sleep(0.05)
    raise AssertionError("the last instant was not ticked in every guild within 30 s")


def _vip_outbox(runtime: Runtime) -> list[tuple[str, str | None]]:
    with runtime.engine.connect() as conn:
        return [(row.state, row.result) for row in store.of_guild(conn, VIP_GUILD)]
