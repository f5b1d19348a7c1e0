"""A loopback stand-in for Discord's REST API: just enough for a bot to log in and sync commands.

Tokens decide how login goes: ``GOOD_TOKEN`` logs in, any other token is rejected (401) the way
Discord rejects a wrong one, and ``SLOW_TOKEN`` never gets an answer; ``unavailable_logins``
answers the next logins 503, as an outage on Discord's side would. Command uploads are recorded.
Messages are recorded; a nonce sent with ``enforce_nonce`` makes one message, as on Discord.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GOOD_TOKEN = "good.fake.token"
SLOW_TOKEN = "slow.fake.token"
APPLICATION_ID = 424242424242424242
BOT_USER = {
    "id": str(APPLICATION_ID),
    "username": "StreamKeeper",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}


@dataclass
class FakeDiscordApi:
    url: str = ""
    command_uploads: list[list[dict[str, Any]]] = field(default_factory=list)
    login_attempts: int = 0
    login_started: asyncio.Event = field(default_factory=asyncio.Event)
    release_slow_logins: asyncio.Event = field(default_factory=asyncio.Event)
    unavailable_logins: int = 0  # the next logins Discord answers 503 (an outage on its side)
    # Channels whose messages Discord answers 429 for this many seconds (a bucket's limit, not
    # the global one), as a busy channel is; other channels take messages.
    rate_limited_channels: dict[int, float] = field(default_factory=dict)
    # Channels whose messages Cloudflare answers 429 for this many seconds (in front of
    # Discord: a text body and a Retry-After header, no Via): Discord never saw them.
    cloudflare_limited_channels: dict[int, float] = field(default_factory=dict)
    messages: list[tuple[int, str]] = field(default_factory=list)
    message_times: list[float] = field(default_factory=list)  # when each arrived (time.time())
    # Cleared: Discord creates each message but answers only once it is set (a slow answer).
    answer_messages: asyncio.Event = field(default_factory=asyncio.Event)
    message_created: asyncio.Event = field(default_factory=asyncio.Event)  # set at each one
    # Messages created with ``enforce_nonce``, by nonce: Discord answers a second message of
    # the bot with the same nonce (within a few minutes) with the first and creates nothing.
    by_nonce: dict[str, dict[str, Any]] = field(default_factory=dict)


def _json(payload: object, status: int = 200) -> web.Response:
    # discord.py parses a body only when Content-Type is exactly application/json (no charset).
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def _token(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bot ")


@asynccontextmanager
async def fake_discord_api() -> AsyncIterator[FakeDiscordApi]:
    """Serve the fake on 127.0.0.1; ``api.url`` is the base for ``discord.http.Route.BASE``."""
    api = FakeDiscordApi()
    api.answer_messages.set()
    routes = web.RouteTableDef()

    @routes.get("/api/v10/users/@me")
    async def me(request: web.Request) -> web.Response:
        api.login_attempts += 1
        api.login_started.set()
        if api.unavailable_logins > 0:
            api.unavailable_logins -= 1
            return _json({"message": "503: Service Unavailable", "code": 0}, status=503)
        token = _token(request)
        if token == SLOW_TOKEN:
            await api.release_slow_logins.wait()
        if token != GOOD_TOKEN:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(BOT_USER)

    @routes.get("/api/v10/oauth2/applications/@me")
    async def application(request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(APPLICATION_ID),
                "name": "StreamKeeper",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": {**BOT_USER, "id": "1", "username": "owner", "bot": False},
                "verify_key": "00",
                "flags": 0,
            }
        )

    @routes.put("/api/v10/applications/{application_id}/commands")
    async def sync_commands(request: web.Request) -> web.Response:
        uploaded = await request.json()
        api.command_uploads.append(uploaded)
        return _json(
            [
                {**command, "id": str(index + 1), "application_id": str(APPLICATION_ID)}
                for index, command in enumerate(uploaded)
            ]
        )

    @routes.post("/api/v10/channels/{channel_id}/messages")
    async def send_message(request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        api.message_times.append(time.time())
        retry_after = api.rate_limited_channels.get(channel_id)
        if retry_after is not None:
            body = {"message": "You are being rate limited.", "retry_after": retry_after,
                    "global": False}  # fmt: skip
            response = _json(body, status=429)
            # Discord's own 429s come through its proxy (Via); one without is Cloudflare's ban.
            response.headers.update({"Retry-After": str(int(retry_after)), "Via": "1.1 google",
                                     "X-RateLimit-Scope": "user"})  # fmt: skip
            return response
        banned_for = api.cloudflare_limited_channels.get(channel_id)
        if banned_for is not None:
            return web.Response(text="error code: 1015", status=429,
                                headers={"Retry-After": str(int(banned_for))})  # fmt: skip
        body = await request.json()
        content = body.get("content") or ""
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            return _json({"code": 50035, "message": "Invalid Form Body"}, status=400)
        enforced = nonce is not None and body.get("enforce_nonce") is True
        if enforced and str(nonce) in api.by_nonce:
            return _json(api.by_nonce[str(nonce)])
        api.messages.append((channel_id, content))
        message = {"id": str(len(api.messages)), "channel_id": str(channel_id),
                   "content": content, "author": BOT_USER, "attachments": [],
                   "embeds": body.get("embeds") or [], "nonce": nonce,
                   "mentions": [], "mention_roles": [], "pinned": False, "tts": False,
                   "mention_everyone": False, "timestamp": "2026-11-27T00:00:00+00:00",
                   "edited_timestamp": None, "type": 0}  # fmt: skip
        if enforced:
            api.by_nonce[str(nonce)] = message
        api.message_created.set()
        await api.answer_messages.wait()
        return _json(message)

    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api.url = f"http://127.0.0.1:{port}/api/v10"
    try:
        yield api
    finally:
        api.release_slow_logins.set()
        api.answer_messages.set()
        await runner.cleanup()
