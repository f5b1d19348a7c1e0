"""A bot process killed between a watchtime tick and the points it earns: the process that
starts next (or takes the guilds over) earns that tick before its own first tick, so the
viewers end with the points of a run that was never killed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from core.events import ChatMessageSent, Platform
from core.features.points import accrual
from core.runtime import Runtime
from tests.features.points.test_earning import T0
from tests.support.clock import Clock
from tests.support.events import chat_message
from tests.support.waiting import eventually

GUILD = 123456789012345678
BROADCASTER = "4242"
VIEWERS = ("77", "88")
MINUTE = timedelta(minutes=1)


def streaming(runtime: Runtime) -> None:
    runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    runtime.points.set_rate(GUILD, "window", "1")
    runtime.points.set_rate(GUILD, "chat", "0")


async def chat(runtime: Runtime) -> None:
    for user_id in VIEWERS:
        event = chat_message(
            "hello",
            broadcaster=BROADCASTER,
            user_id=user_id,
            at=T0 + timedelta(seconds=5),
            event_id=f"m-{user_id}",
        )
        for handler in runtime.handlers[ChatMessageSent]:
            result = handler(GUILD, event)
            if asyncio.iscoroutine(result):
                await result


def balances(runtime: Runtime) -> dict[str, int]:
    return {user: runtime.points.balance(GUILD, Platform.KICK, user) for user in VIEWERS}


def earned_until(runtime: Runtime):  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return accrual.earned_until(conn, GUILD)


async def run_until_earned(runtime: Runtime) -> None:
    """The restarted process runs as `core run` would, until it has earned the last tick; its
    own next tick is 30 s of real time away, so only the work before its first tick can."""
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.scheduler.run(stop))
    try:
        await eventually(lambda: earned_until(runtime) == T0 + MINUTE, within=60, every=0.05)
    finally:
        stop.set()
        await task


@pytest.mark.parametrize("killed", [False, True], ids=["never-killed", "killed-after-the-tick"])
async def test_a_tick_whose_points_job_was_killed_is_earned_at_the_restart(
    make_runtime, tmp_path: Path, killed: bool
):
    clock = Clock(T0)
    data_dir = str(tmp_path / "data")
    first = make_runtime(clock=clock, DATA_DIR=data_dir)
    streaming(first)
    await first.scheduler.tick_once(T0)
    await chat(first)
    clock.now = T0 + MINUTE
    if killed:
        await first.ticks.run(clock.now, asyncio.Event())  # the tick, then kill -9
        assert earned_until(first) == T0
    else:
        await first.scheduler.tick_once(clock.now)

    clock.now = T0 + MINUTE + timedelta(seconds=30)
    await run_until_earned(make_runtime(clock=clock, DATA_DIR=data_dir))  # the restart
    assert balances(first) == {"77": 1, "88": 1}  # one minute present, its window posted

    later = make_runtime(clock=clock, DATA_DIR=data_dir)  # ticking by hand, as a tool does
    for minutes in (2, 3):
        clock.now = T0 + minutes * MINUTE
        await later.scheduler.tick_once(clock.now)
    assert balances(later) == {"77": 3, "88": 3}
