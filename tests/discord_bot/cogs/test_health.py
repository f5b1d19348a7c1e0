"""!health: the shared health report, for members who may manage the server."""

from __future__ import annotations

import threading

import discord
import pytest

from core.discord_bot.bot import BotServices
from core.discord_bot.render import GREEN, RED
from core.features.guilds.service import GuildService
from core.features.watchtime.service import WatchtimeService
from core.health import Check, HealthReport
from tests.discord_bot.fake_discord import say

FAILING = HealthReport(
    [
        Check("database", True, "sqlite, migrated"),
        Check("redis", False, "connection refused"),
    ]
)


@pytest.fixture
def probe_threads() -> list[int]:
    return []


@pytest.fixture
def services(
    watchtime: WatchtimeService,
    guilds: GuildService,
    health_report: HealthReport,
    probe_threads: list[int],
) -> BotServices:
    """As in conftest, with a health callable that notes which thread runs it."""

    def health() -> HealthReport:
        probe_threads.append(threading.get_ident())
        return health_report

    return BotServices(watchtime=watchtime, guilds=guilds, health=health)


@pytest.mark.parametrize("health_report", [FAILING])
async def test_health_shows_a_failing_check_as_failing(manager: discord.Member) -> None:
    [reply] = await say("!health", manager)

    assert reply.content.splitlines() == [
        f"{RED} **Failing**: 1 of 2 checks fail",
        f"{GREEN} ok   database: sqlite, migrated",
        f"{RED} FAIL redis: connection refused",
    ]


async def test_health_when_all_checks_pass(manager: discord.Member) -> None:
    [reply] = await say("!health", manager)

    assert reply.content.splitlines()[0] == f"{GREEN} **Healthy**: all 1 checks pass"


async def test_health_needs_manage_server(alice: discord.Member) -> None:
    [reply] = await say("!health", alice)

    assert reply.content == "You need the Manage Server permission to use !health."


async def test_health_checks_run_off_the_event_loop(
    manager: discord.Member, probe_threads: list[int]
) -> None:
    await say("!health", manager)

    assert probe_threads
    assert threading.get_ident() not in probe_threads
