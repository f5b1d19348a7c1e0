"""StreamElements logins become Twitch user ids through Helix with the app token, where Twitch
is configured (the command line's ``_twitch_ids_of``)."""

from __future__ import annotations

import asyncio

import pytest

from core.cli.importers import _twitch_ids_of
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_logins_are_looked_up_on_helix(tmp_path, clock):
    with FakeTwitch(clock=clock) as twitch:
        twitch.add_user("4001", "ann")
        twitch.add_user("4002", "cat_z")
        runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", clock)
        try:
            ids_of = _twitch_ids_of(runtime)
            assert ids_of is not None
            found = asyncio.run(ids_of(["ann", "cat_z", "nobody_at_all"]))
        finally:
            runtime.close()
    assert found == {"ann": "4001", "cat_z": "4002"}


def test_without_twitch_there_is_no_lookup(make_runtime):
    assert _twitch_ids_of(make_runtime()) is None
