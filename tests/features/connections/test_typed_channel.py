"""A platform that does not answer a ``guild add`` check in time: the operator hears so within
the bound, not after the clients' retries."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from core.features.connections.typed_channel import ChannelCheckFailed, check_twitch
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch


def test_a_twitch_that_hangs_is_given_up_on_within_the_bound(tmp_path):
    with FakeTwitch() as twitch:
        runtime = runtime_on_fake_twitch(twitch, tmp_path, lambda: datetime.now(UTC))
        hang = twitch.hang_next("/helix/users", 600)
        started = time.monotonic()
        try:
            with pytest.raises(ChannelCheckFailed) as failed:
                asyncio.run(check_twitch(runtime.twitch_setup, "twitchdev", None, within=1.0))
        finally:
            hang.release()
            runtime.close()
    assert time.monotonic() - started < 60  # a hang detector: the bound is 1 s
    assert failed.value.is_unreachable
    assert "(no answer within 1 seconds)" in str(failed.value)
