"""The raffle tests' shared fixtures: a month's clock (a module with its own ``clock`` keeps it)
and a drand relay on loopback that publishes rounds on that clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.fakes.beacon_server import FakeBeacon
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def beacon(clock: Clock) -> Iterator[FakeBeacon]:
    with FakeBeacon(clock=clock) as fake:
        yield fake
