"""Running the Discord bot: log in (trying again while Discord cannot be reached), stay
connected (discord.py reconnects by itself), stop when asked, and say where it stands
(:class:`~core.discord_bot.gateway.DiscordStatus`, for ``/health`` and ``!health``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import aiohttp
import discord
from discord.ext import commands

from core.discord_bot.gateway import DiscordStatus

log = logging.getLogger(__name__)

LOGIN_REJECTED = "Discord rejected DISCORD_TOKEN; check it in the Developer Portal"
MISSING_INTENTS = (
    "Discord refused the Server Members or Message Content intent; turn both on under "
    "Bot > Privileged Gateway Intents in the Developer Portal"
)
# Stopping waits this long for discord.py to close its connections before giving up on them.
CLOSE_TIMEOUT_SECONDS = 10.0
LOGIN_RETRY_FIRST_SECONDS = 1.0
LOGIN_RETRY_MAX_SECONDS = 60.0


def login_retry_delay(attempt: int) -> float:
    """1 s, 2 s, 4 s ... up to a minute, with up to a fifth more at random (so many bots behind
    one outage do not come back at once)."""
    base = min(LOGIN_RETRY_FIRST_SECONDS * 2 ** (attempt - 1), LOGIN_RETRY_MAX_SECONDS)
    return base * (1 + random.random() / 5)  # noqa: S311 - jitter, not a secret


async def run_bot(
    bot: commands.Bot,
    token: str,
    stop: asyncio.Event,
    status: DiscordStatus | None = None,
    *,
    retry_delays: Callable[[int], float] = login_retry_delay,
) -> None:
    """Run ``bot`` until ``stop`` is set. Never raises: the web side and pipeline keep running.

    While Discord cannot be reached (no route, DNS, a 5xx), logging in is tried again with a
    growing wait (``retry_delays(attempt)``), one plain line each time; once logged in,
    discord.py keeps the gateway connection up itself. A rejected token or refused intents stop
    it with one plain line; anything else logs its traceback. ``status`` says where it stands
    (for ``/health`` and ``!health``). The token itself is never logged.
    """
    status = status or DiscordStatus()

    async def connected() -> None:
        status.set("connected")

    async def disconnected() -> None:
        if status.state == "connected":
            status.set("reconnecting")

    bot.add_listener(connected, "on_ready")
    bot.add_listener(connected, "on_resumed")
    bot.add_listener(disconnected, "on_disconnect")
    async with bot:
        start = asyncio.create_task(
            _log_in_and_connect(bot, token, status, retry_delays), name="discord-bot"
        )
        stopped = asyncio.create_task(stop.wait(), name="discord-bot-stop")
        was_stopped = False
        try:
            await asyncio.wait({start, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not start.done():
                was_stopped = True
                log.info("stopping the Discord bot")
                await bot.close()
                # Closing mid-login makes start() fail on the closed session; that is the
                # stop we asked for, not an error worth reporting.
                with contextlib.suppress(TimeoutError, Exception):
                    await asyncio.wait_for(start, CLOSE_TIMEOUT_SECONDS)
                start.cancel()
        if not was_stopped and start.exception() is not None:
            _log_start_failure(start.exception())
            status.set("refused", _plain_failure(start.exception()))
        elif status.state != "refused":
            status.set("off")


async def _log_in_and_connect(
    bot: commands.Bot, token: str, status: DiscordStatus, retry_delays: Callable[[int], float]
) -> None:
    attempt = 0
    while True:
        status.set("connecting")
        try:
            await bot.login(token)
            break
        except Exception as exc:
            if bot.is_closed() or not _is_transient(exc):
                raise  # closed: the stop run_bot asked for
            attempt += 1
            delay = retry_delays(attempt)
            problem = _plain(exc)
            status.set("retrying", problem, delay)
            log.warning("Discord is unreachable (%s); trying again in %.0f s", problem, delay)
            # The next login opens a new session, and a new connector (closing the session
            # closed the old one).
            await bot.http.close()
            bot.http.connector = discord.utils.MISSING
            await asyncio.sleep(delay)
    await bot.connect(reconnect=True)


def _is_transient(exc: BaseException) -> bool:
    """A failure that waiting can cure: no route or answer, or Discord's own 5xx."""
    if isinstance(exc, discord.LoginFailure | discord.PrivilegedIntentsRequired):
        return False
    if isinstance(exc, discord.HTTPException):
        return exc.status >= 500
    return isinstance(exc, aiohttp.ClientError | OSError | TimeoutError | discord.GatewayNotFound)


def _plain(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}"
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status}"
    return type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"


def _plain_failure(exc: BaseException | None) -> str:
    match exc:
        case discord.LoginFailure():
            return LOGIN_REJECTED
        case discord.PrivilegedIntentsRequired():
            return MISSING_INTENTS
        case _:
            return "stopped on an unexpected error (see the log)"


def _log_start_failure(error: BaseException | None) -> None:
    match error:
        case discord.LoginFailure():
            log.error(LOGIN_REJECTED)
        case discord.PrivilegedIntentsRequired():
            log.error(MISSING_INTENTS)
        case BaseException():
            log.error(
                "the Discord bot stopped on an unexpected error",
                exc_info=(type(error), error, error.__traceback__),
            )
