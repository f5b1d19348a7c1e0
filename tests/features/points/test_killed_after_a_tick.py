"""A bot process killed between a watchtime tick and the points it earns: the process that
starts next (or takes the guilds over) earns that tick before its own first tick, so the
viewers end with the points of a run that was never killed."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

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


class LockedPoints:
    """While ``locked``, a statement moving a guild's earnings clock fails as SQLite's does
    when another writer holds the file past the busy timeout."""

    def __init__(self, engine: Engine) -> None:
        self.locked = False
        sa.event.listen(engine, "before_cursor_execute", self.before)

    def before(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if self.locked and "earned_until" in statement and not statement.startswith("SELECT"):
            raise sa.exc.OperationalError(
                statement, parameters, sqlite3.OperationalError("database is locked")
            )


async def test_a_tick_whose_points_failed_is_earned_before_the_next_tick(
    make_runtime, caplog: pytest.LogCaptureFixture
):
    """The points job failed after a tick while the process kept running (its batch, then the
    guild alone): the scheduler runs it again before the next tick, which would overwrite who
    was there, so the viewers end with the points of a run where nothing failed."""
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    streaming(runtime)
    points = LockedPoints(runtime.engine)
    await runtime.scheduler.tick_once(T0)
    await chat(runtime)

    points.locked = True
    clock.now = T0 + MINUTE
    with caplog.at_level(logging.ERROR):
        await runtime.scheduler.tick_once(clock.now)
    assert earned_until(runtime) == T0  # the tick counted, its points did not
    assert f"guild {GUILD}: points for watching failed" in caplog.text
    assert f"1 guild(s) earned nothing for their tick: {GUILD}" in caplog.text

    points.locked = False
    clock.now = T0 + 2 * MINUTE
    await runtime.scheduler.tick_once(clock.now)
    assert earned_until(runtime) == T0 + 2 * MINUTE
    assert balances(runtime) == {"77": 2, "88": 2}  # both minutes (1 each when one was lost)
    assert "points earned by watching failed; trying again before the next tick" in caplog.text

    clock.now = T0 + 3 * MINUTE
    await runtime.scheduler.tick_once(clock.now)
    assert balances(runtime) == {"77": 3, "88": 3}
