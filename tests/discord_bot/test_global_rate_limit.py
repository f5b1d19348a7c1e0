"""Discord's global rate limit (50 requests a second per bot token) holds for every bot process
of a deployment together: real processes, discord.py's HTTP client, a loopback Discord that
notes when each message arrives, and the tests' Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import discord
import pytest
import redis
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from core.discord_bot.global_pace import GLOBAL_LIMIT, counted_key, global_key, global_pace
from core.ratelimits import RedisWindows, windows_for
from core.ratelimits.redis_windows import PREFIX
from tests.fakes.discord_api import GOOD_TOKEN, FakeDiscordApi, fake_discord_api
from tests.support.gone_redis import GoneRedis
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
# Redis stamps on its own clock, to the ms; the fake notes arrival a moment after sending.
STRETCH = GLOBAL_LIMIT.seconds - 0.01
BUSY = 30  # messages in one second that show the limit used, not held back for nothing
DEADLINE = 60.0  # seconds a busy machine gets to show a rate


def most_in_any_stretch(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.fixture
def no_global_window(redis_url: str) -> Iterator[None]:
    client = redis.Redis.from_url(redis_url)
    client.delete(PREFIX + global_key(GOOD_TOKEN))
    yield
    client.delete(PREFIX + global_key(GOOD_TOKEN))
    client.close()


class Senders:
    """Bot processes (``tests/discord_bot/sender_process.py``), each stopped by its own PID."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, api: FakeDiscordApi, redis_url: str) -> asyncio.subprocess.Process:
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "tests.discord_bot.sender_process", api.url, redis_url],
            env={**os.environ, "PYTHONPATH": path},
            stdout=asyncio.subprocess.PIPE,
        )
        self.processes.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"ready"
        return process

    async def kill(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            os.kill(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 10)

    async def stop_all(self) -> None:
        for process in self.processes:
            await self.kill(process)


@pytest.fixture
async def senders() -> AsyncIterator[Senders]:
    made = Senders()
    yield made
    await made.stop_all()


@pytest.mark.usefixtures("no_global_window")
async def test_three_bot_processes_keep_the_global_limit_and_a_killed_one_frees_its_share(
    senders: Senders, redis_url: str
) -> None:
    async with fake_discord_api() as api:
        processes = [await senders.start(api, redis_url) for _ in range(3)]
        # Not held back for nothing: the three use the limit, and so do the two left.
        await busy_second(api, since=time.time(), who="the three processes")
        await senders.kill(processes[0])  # dies mid-burst, its slots still in the window
        # Its slots leave the window a second later; the two left may use all of it again.
        await busy_second(api, since=time.time() + GLOBAL_LIMIT.seconds, who="the two left")
        await senders.stop_all()
        times = list(api.message_times)

    assert most_in_any_stretch(times, STRETCH) <= GLOBAL_LIMIT.requests


async def test_one_process_without_redis_keeps_sending_under_the_limit(senders: Senders) -> None:
    async with fake_discord_api() as api:
        await senders.start(api, "")
        await eventually(lambda: len(api.message_times) >= 100, within=DEADLINE, every=0.1)
        await senders.stop_all()
        times = list(api.message_times)

    assert most_in_any_stretch(times, STRETCH) <= GLOBAL_LIMIT.requests


async def busy_second(api: FakeDiscordApi, since: float, who: str) -> None:
    """Wait for a second after ``since`` holding :data:`BUSY` messages: a rate shown whenever
    the machine gets to it, not in a fixed second."""

    def busiest() -> int:
        return most_in_any_stretch([at for at in api.message_times if at >= since], STRETCH)

    await eventually(
        lambda: busiest() >= BUSY, within=DEADLINE, every=0.1, message=f"{who} never sent {BUSY}/s"
    )


async def send_many(http: discord.http.HTTPClient, count: int) -> None:
    params = discord.http.MultipartParameters({"content": "hi"}, None, None)
    for _ in range(count):
        await http.send_message(1, params=params)


async def logged_in(api: FakeDiscordApi, windows: object) -> discord.http.HTTPClient:
    discord.http.Route.BASE = api.url
    http = discord.http.HTTPClient(asyncio.get_running_loop(), http_trace=global_pace(windows))
    await http.static_login(GOOD_TOKEN)
    return http


async def test_while_redis_is_out_each_of_three_processes_sends_its_share_only() -> None:
    base = discord.http.Route.BASE
    async with fake_discord_api() as api:
        clients = [
            await logged_in(api, RedisWindows(GoneRedis(), processes=lambda: 3)) for _ in range(3)
        ]
        try:
            started = time.time()
            await asyncio.gather(*(send_many(http, 40) for http in clients))
        finally:
            for http in clients:
                await http.close()
            discord.http.Route.BASE = base
        times = [at for at in api.message_times if at >= started]

    assert len(times) == 120
    # Each paces on 16 a second: together at most 48, never unpaced.
    assert most_in_any_stretch(times, GLOBAL_LIMIT.seconds) <= GLOBAL_LIMIT.requests


@pytest.mark.usefixtures("no_global_window")
async def test_each_discord_request_costs_two_calls_to_redis_as_every_shared_limit(
    redis_url: str,
) -> None:
    base = discord.http.Route.BASE
    watcher = redis.Redis.from_url(redis_url)
    async with fake_discord_api() as api:
        http = await logged_in(api, windows_for(redis.Redis.from_url(redis_url)))
        try:
            await send_many(http, 5)  # the scripts are loaded
            before = commands_run(watcher)
            await send_many(http, 20)
            after = commands_run(watcher)
        finally:
            await http.close()
            discord.http.Route.BASE = base
    watcher.close()

    assert after - before <= 2 * 20  # take the slot, re-stamp it when the answer lands


# What a script runs inside Redis is counted too; a round trip is any other command.
INSIDE_SCRIPTS = {"time", "zremrangebyscore", "zcard", "zadd", "pexpire", "zrange", "info"}


def commands_run(client: redis.Redis) -> int:
    """The round trips every client made to Redis so far."""
    stats = client.info("commandstats")
    return sum(
        int(v["calls"])
        for k, v in stats.items()
        if k.removeprefix("cmdstat_") not in INSIDE_SCRIPTS
    )


async def test_while_redis_is_out_a_process_that_died_frees_its_share() -> None:
    live = [3]  # the bot processes alive, as ownership counts them
    base = discord.http.Route.BASE
    async with fake_discord_api() as api:
        http = await logged_in(api, RedisWindows(GoneRedis(), processes=lambda: live[0]))
        try:
            three_alive = time.time()
            await send_many(http, 40)
            live[0] = 2  # one died: its heartbeat stopped
            two_alive = time.time()
            await send_many(http, 60)
        finally:
            await http.close()
            discord.http.Route.BASE = base
        times = list(api.message_times)

    before = [at for at in times if three_alive <= at < two_alive]
    after = [at for at in times if at >= two_alive]
    assert most_in_any_stretch(before, GLOBAL_LIMIT.seconds) <= 50 // 3
    assert 50 // 3 < most_in_any_stretch(after, GLOBAL_LIMIT.seconds) <= 50 // 2


def start_params(url: str, authorization: str | None) -> aiohttp.TraceRequestStartParams:
    headers = CIMultiDict({"Authorization": authorization} if authorization else {})
    return aiohttp.TraceRequestStartParams("POST", URL(url), CIMultiDictProxy(headers))


def test_only_the_bots_own_rest_requests_count_in_the_global_window() -> None:
    api = "https://discord.com/api/v10"
    bot = f"Bot {GOOD_TOKEN}"
    assert counted_key(start_params(f"{api}/channels/1/messages", bot)) == global_key(GOOD_TOKEN)
    # Discord leaves interaction answers and follow-ups out of the global limit.
    assert counted_key(start_params(f"{api}/interactions/1/tok/callback", None)) is None
    assert counted_key(start_params(f"{api}/webhooks/2/tok", bot)) is None
    assert counted_key(start_params("wss://gateway.discord.gg/?v=10", None)) is None
    assert counted_key(start_params("https://cdn.discordapp.com/avatars/1/a.png", None)) is None
    assert counted_key(start_params(f"{api}/users/@me", "Bot other.token")) == global_key(
        "other.token"
    )
