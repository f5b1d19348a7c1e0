"""The runtime builds its rate-limit windows once, in Redis when the deployment has it, and
hands them to the partners' clients (Twitch's Helix, Kick's chat)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.events import system_clock
from core.ratelimits import MemoryWindows, RedisWindows, Windows
from core.runtime import Runtime
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch() as fake:
        yield fake


def windows_of_the_clients(runtime: Runtime) -> list[Windows]:
    return [runtime.twitch.windows, runtime.kick.windows]


def test_without_redis_the_windows_are_the_processs(tmp_path: Path, twitch: FakeTwitch) -> None:
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", system_clock)
    try:
        assert isinstance(runtime.windows, MemoryWindows)
        assert windows_of_the_clients(runtime) == [runtime.windows] * 2
    finally:
        runtime.close()


def test_with_redis_every_process_shares_them(
    tmp_path: Path, twitch: FakeTwitch, redis_url: str
) -> None:
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", system_clock, REDIS_URL=redis_url)
    try:
        assert isinstance(runtime.windows, RedisWindows)
        assert windows_of_the_clients(runtime) == [runtime.windows] * 2
    finally:
        runtime.close()
