"""The directory's bot tests run the bot with a directory on the test's SQLite database."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.engine import Engine

from core.discord_bot.services import BotServices
from core.features.directory.service import DirectoryService
from tests.support.clock import Clock


@pytest.fixture
def directory(sqlite_engine: Engine, clock: Clock) -> DirectoryService:
    return DirectoryService(sqlite_engine, clock)


@pytest.fixture
def services(services: BotServices, directory: DirectoryService) -> BotServices:
    return dataclasses.replace(services, directory=directory)
