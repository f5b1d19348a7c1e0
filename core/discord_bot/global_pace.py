"""Discord's global rate limit (50 requests a second per bot token), counted across processes.

discord.py paces each route's bucket but not the global limit, and only per process; two or
three bot processes of one token could send more than 50 a second together. The bot's HTTP
session therefore takes a slot of one shared window (``core/ratelimits``: in Redis when the
deployment has it, else in this process) just before each request it actually sends, a
resend by discord.py included, and re-stamps it when the answer (or the failure) comes back:
the same two calls to the store as every other partner's limit, nothing more. While Redis is
out, each process paces on its share of the limit, as with the other partners.

The window is the bot token's (read from the request's ``Authorization`` header, kept in Redis
as a hash only). Not counted: interaction answers and follow-ups (``/interactions/``,
``/webhooks/``), which Discord leaves out of the global limit, the gateway's websocket, and
requests without the bot's token (images from Discord's CDN).
"""

from __future__ import annotations

import functools
import hashlib
from types import SimpleNamespace

import aiohttp

from core.ratelimits import Limit, Windows

GLOBAL_LIMIT = Limit(50, 1.0)
NOT_COUNTED = ("/interactions/", "/webhooks/")


@functools.cache
def global_key(token: str) -> str:
    """The window's key: one per bot token, named by a hash (the token never reaches Redis)."""
    return "discord:global:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def counted_key(params: aiohttp.TraceRequestStartParams) -> str | None:
    """The window a request counts in, or None when it counts in none."""
    authorization = params.headers.get("Authorization", "")
    text = str(params.url)
    if not authorization.startswith("Bot ") or text.startswith(("ws://", "wss://")):
        return None
    if any(part in text for part in NOT_COUNTED):
        return None
    return global_key(authorization.removeprefix("Bot "))


def global_pace(windows: Windows, limit: Limit = GLOBAL_LIMIT) -> aiohttp.TraceConfig:
    """A trace for the bot's HTTP session (discord.py's ``http_trace``) that keeps every
    request made with a bot token in that token's shared window."""
    trace = aiohttp.TraceConfig()

    async def on_start(
        _session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        key = counted_key(params)
        if key is not None:
            taken = await windows.take(key, limit)
            context.taken = [*getattr(context, "taken", []), taken]

    async def on_landed(
        _session: aiohttp.ClientSession, context: SimpleNamespace, _params: object
    ) -> None:
        for taken in getattr(context, "taken", []):
            await windows.restamp(taken)
        context.taken = []

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_landed)
    trace.on_request_exception.append(on_landed)
    return trace


__all__ = ["GLOBAL_LIMIT", "counted_key", "global_key", "global_pace"]
