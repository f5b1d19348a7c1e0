"""A bot process that only sends: ``python -m tests.discord_bot.sender_process API_URL REDIS_URL``
logs in to the fake Discord API through discord.py's HTTP client, paced by the shared global
window, and sends messages from 10 tasks at once until it is killed."""

from __future__ import annotations

import asyncio
import sys

import discord
import redis

from core.discord_bot.global_pace import global_pace
from core.ratelimits import windows_for
from tests.fakes.discord_api import GOOD_TOKEN


async def main(api_url: str, redis_url: str) -> None:
    discord.http.Route.BASE = api_url
    windows = windows_for(redis.Redis.from_url(redis_url, socket_timeout=5) if redis_url else None)
    http = discord.http.HTTPClient(asyncio.get_running_loop(), http_trace=global_pace(windows))
    await http.static_login(GOOD_TOKEN)
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    params = discord.http.MultipartParameters({"content": "hi"}, None, None)

    async def send() -> None:
        while True:
            await http.send_message(1, params=params)

    await asyncio.gather(*(send() for _ in range(10)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
