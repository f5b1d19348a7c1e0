"""Discord unreachable at start: the bot tries again with a growing wait instead of dying, says so
in one plain line per try, and its state reaches /health (issue 26, fault 6)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import discord
import pytest

from core.discord_bot.bot import create_bot
from core.discord_bot.gateway import DiscordStatus
from core.discord_bot.running import LOGIN_REJECTED, login_retry_delay, run_bot
from core.discord_bot.services import BotServices
from tests.fakes.discord_api import GOOD_TOKEN, FakeDiscordApi, fake_discord_api
from tests.services import free_port
from tests.support.waiting import eventually


def closed_port() -> int:
    return free_port()  # nothing listens there


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscordApi]:
    async with fake_discord_api() as api:
        yield api


async def test_an_unreachable_discord_is_tried_again_until_it_answers(
    discord_api: FakeDiscordApi,
    services: BotServices,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO)
    port = closed_port()
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    status = DiscordStatus()
    stop = asyncio.Event()
    tries: list[int] = []

    def delays(attempt: int) -> float:
        tries.append(attempt)
        return 0.05

    running = asyncio.create_task(
        run_bot(create_bot(services), GOOD_TOKEN, stop, status, retry_delays=delays)
    )
    await eventually(lambda: len(tries) >= 3, within=30)
    assert status.state == "retrying"
    assert status.problem == f"cannot connect to 127.0.0.1:{port}"
    assert "unreachable, trying again" in status.describe()

    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.url)  # the route is back
    await eventually(lambda: discord_api.login_attempts >= 1, within=30)
    await eventually(lambda: status.state == "connecting" and not status.problem, within=30)
    stop.set()
    await asyncio.wait_for(running, 10)

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "core" in r.name]
    assert warnings
    assert all(r.getMessage().startswith("Discord is unreachable (") for r in warnings)
    assert all(r.exc_info is None for r in warnings)  # one plain line, no traceback
    assert all(GOOD_TOKEN not in r.getMessage() for r in caplog.records)


async def test_an_outage_on_discords_side_is_waited_out(
    discord_api: FakeDiscordApi, services: BotServices, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.url)
    discord_api.unavailable_logins = 2
    status = DiscordStatus()
    stop = asyncio.Event()

    running = asyncio.create_task(
        run_bot(create_bot(services), GOOD_TOKEN, stop, status, retry_delays=lambda a: 0.01)
    )
    await eventually(lambda: discord_api.login_attempts >= 3, within=30)
    await eventually(lambda: status.state == "connecting", within=30)
    stop.set()
    await asyncio.wait_for(running, 10)


async def test_a_refused_token_stops_with_one_plain_line_and_says_so(
    discord_api: FakeDiscordApi,
    services: BotServices,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.url)
    status = DiscordStatus()

    await asyncio.wait_for(
        run_bot(create_bot(services), "wrong.token.here", asyncio.Event(), status), 10
    )

    assert discord_api.login_attempts == 1  # a wrong token is not tried again
    assert (status.state, status.problem) == ("refused", LOGIN_REJECTED)
    assert not status.is_connected


def test_the_wait_grows_to_a_minute_with_some_jitter():
    assert 1.0 <= login_retry_delay(1) <= 1.2
    assert 8.0 <= login_retry_delay(4) <= 9.6
    assert 60.0 <= login_retry_delay(30) <= 72.0


def test_health_fails_while_the_bot_of_this_process_is_not_connected(make_runtime):
    runtime = make_runtime()
    try:
        assert "discord" not in {c.name for c in runtime.health().checks}  # no bot here
        runtime.discord.enabled = True  # as `core bot` attaches one
        runtime.discord.status.set("retrying", "cannot connect to discord.com:443", 4.0)

        report = runtime.health()
        [check] = [c for c in report.checks if c.name == "discord"]
        assert not check.ok
        assert "unreachable, trying again" in check.detail
        assert "cannot connect to discord.com:443" in check.detail
        answer = runtime.create_web_app().test_client().get("/health")
        assert answer.status_code == 503
        assert answer.get_json()["checks"]["discord"] == {
            "ok": False,
            "detail": "does not work; the bot's operator sees why in 'python -m core health'",
        }

        runtime.discord.status.set("connected")
        assert runtime.health().ok
    finally:
        runtime.close()
