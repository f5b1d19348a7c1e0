"""The VIP pacer keeps Twitch's limit, 10 additions per 10 seconds per channel, counted when
each call lands (issue 26, item 6: counted when it started, a slow call let an 11th land inside
10 seconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.features.vip.pacing import VipPacer
from core.features.vip.ports import TwitchBusy
from tests.support.clock import Clock

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)


async def test_no_ten_second_window_holds_more_than_ten_landed_additions():
    clock = Clock(T0)
    landed: list[datetime] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    async def slow_add() -> None:
        clock.advance(3)  # Twitch takes 3 s to answer the first ones
        landed.append(clock())

    async def quick_add() -> None:
        landed.append(clock())

    pacer = VipPacer(clock, sleep)
    await pacer.run("add", "b1", slow_add)
    for _ in range(12):
        await pacer.run("add", "b1", quick_add)

    window = timedelta(seconds=10)
    for index in range(len(landed) - 10):
        assert landed[index + 10] - landed[index] >= window, f"an 11th landed at {index + 10}"


async def test_a_refused_attempt_counts_and_is_waited_out():
    clock = Clock(T0)
    attempts: list[datetime] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    async def add() -> None:
        attempts.append(clock())
        if len(attempts) == 1:
            raise TwitchBusy("429", retry_after=2.0)

    pacer = VipPacer(clock, sleep, limit=1, window_seconds=10)
    await pacer.run("add", "b1", add)

    assert attempts[1] - attempts[0] >= timedelta(seconds=10)  # the refusal filled the window
