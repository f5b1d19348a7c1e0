"""A scheduled job stuck on a partner does not hold the process's stop: it gets a few seconds
to end, then it is cancelled, as a kill would stop it (every job resumes from what it stored)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from core import scheduler as scheduler_module
from core.events import system_clock
from core.scheduler import Scheduler


async def _no_tick(at, stop) -> None:  # type: ignore[no-untyped-def]
    return None


async def test_a_job_stuck_on_a_partner_is_cancelled_a_grace_after_the_stop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scheduler_module, "STOP_GRACE_SECONDS", 0.2)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)  # a Twitch that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    schedule = Scheduler(3600, _no_tick, system_clock)
    schedule.every("reading missed VIP redemptions", lambda: 600.0, stuck)
    stop = asyncio.Event()
    running = asyncio.create_task(schedule.run(stop))
    await asyncio.wait_for(started.wait(), timeout=5)

    stop.set()
    await asyncio.wait_for(running, timeout=5)

    assert cancelled.is_set()
    assert "reading missed VIP redemptions was still running 0.2 s after the stop" in caplog.text


async def test_a_job_that_ends_within_the_grace_ends_by_itself_and_its_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    started, release = asyncio.Event(), asyncio.Event()

    async def ending() -> None:
        started.set()
        await release.wait()
        raise RuntimeError("Twitch said 500")

    schedule = Scheduler(3600, _no_tick, system_clock)
    schedule.every("polls", lambda: 600.0, ending)
    stop = asyncio.Event()
    running = asyncio.create_task(schedule.run(stop))
    await asyncio.wait_for(started.wait(), timeout=5)

    stop.set()
    release.set()
    await asyncio.wait_for(running, timeout=5)

    assert "polls failed; trying again at the next interval" in caplog.text
    assert "cancelled" not in caplog.text


async def test_a_job_that_follows_the_tick_and_failed_runs_again_before_the_next_tick(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ``everywhere`` job (it must follow its guilds' tick) that failed is run again before
    the next tick, not only after it; a job of the process holding the work after the tick is
    retried at its next turn, as before."""
    done: list[str] = []
    failures = {"follows": 1, "held": 1}

    async def tick(at, stop) -> None:  # type: ignore[no-untyped-def]
        done.append(f"tick {at:%M}")

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            if failures[name]:
                failures[name] -= 1
                done.append(f"{name} failed")
                raise RuntimeError(f"{name} could not reach the database")
            done.append(name)

        return run

    schedule = Scheduler(60, tick, system_clock)
    schedule.after_tick("follows", job("follows"), everywhere=True)
    schedule.after_tick("held", job("held"))
    with caplog.at_level(logging.ERROR):
        await schedule.tick_once(datetime(2026, 11, 27, 12, 1, tzinfo=UTC))
        await schedule.tick_once(datetime(2026, 11, 27, 12, 2, tzinfo=UTC))
        await schedule.tick_once(datetime(2026, 11, 27, 12, 3, tzinfo=UTC))

    assert done == [
        "tick 01", "follows failed", "held failed",
        "follows",  # before the tick that would move on from the one it follows
        "tick 02", "follows", "held",
        "tick 03", "follows", "held",
    ]  # fmt: skip
    assert "follows failed; trying again before the next tick" in caplog.text
    assert "held failed; retrying at the next tick" in caplog.text
