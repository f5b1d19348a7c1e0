"""The supervisors' upkeep rounds both platforms share (``core/platforms/sockets.py``)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.platforms.sockets import repeat_until_stopped

log = logging.getLogger("tests.sockets")


async def test_a_failing_step_is_logged_and_the_rounds_go_on_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    done: list[str] = []

    async def failing() -> None:
        done.append("failing")
        raise RuntimeError("no answer")

    async def counting() -> None:
        done.append("counting")
        if done.count("counting") == 2:
            stop.set()

    with caplog.at_level(logging.ERROR, logger="tests.sockets"):
        await asyncio.wait_for(
            repeat_until_stopped(
                stop,
                [(failing, "could not fail quietly"), (counting, "could not count")],
                every_seconds=0.01,
                logger=log,
            ),
            timeout=5,
        )

    assert done == ["failing", "counting", "failing", "counting"]
    assert [r.getMessage() for r in caplog.records] == ["could not fail quietly"] * 2
