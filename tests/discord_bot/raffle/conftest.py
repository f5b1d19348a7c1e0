"""The raffle's commands run on dpytest's fake Discord, backed by the real raffle service on
SQLite, with a fake drand relay on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from core.discord_bot.services import BotServices
from core.features.guilds.service import GuildService
from core.features.raffle.service import RaffleService
from core.features.watchtime.service import WatchtimeService
from core.health import HealthReport
from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.support import make_service
from tests.support.clock import Clock

NOW = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def raffle_clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def beacon(raffle_clock: Clock):
    with FakeBeacon(clock=raffle_clock, genesis=datetime(2030, 1, 1, tzinfo=UTC)) as fake:
        yield fake


@pytest.fixture
def raffle(sqlite_engine: Engine, raffle_clock: Clock, beacon: FakeBeacon) -> RaffleService:
    return make_service(sqlite_engine, raffle_clock, beacon.url)


@pytest.fixture
def services(
    watchtime: WatchtimeService,
    guilds: GuildService,
    health_report: HealthReport,
    raffle: RaffleService,
) -> BotServices:
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, raffle=raffle
    )
