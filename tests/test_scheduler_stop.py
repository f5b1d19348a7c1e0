"""A scheduled job stuck on a partner does not hold the process's stop: it gets a few seconds
to end, then it is cancelled, as a kill would stop it (every job resumes from what it stored)."""

from __future__ import annotations

import asyncio
import logging

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
