"""Running StreamKeeper: everything in one process, or the bot and web sides apart."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import TypeVar

from core.cli import AddCommand, CommandFailed, number_in, open_runtime
from core.web.server_errors import cannot_listen

T = TypeVar("T")

log = logging.getLogger("core")


def register(command: AddCommand) -> None:
    command("run", _run, "Run everything in one process: web, event pipeline, scheduler, bot.")
    command("bot", _bot, "Run the event pipeline, the scheduler and the Discord bot (no web).")
    command("web", _web, "Run the web side only (webhooks, health, metrics).")
    command("migrate", _migrate, "Bring the database schema up to date.")
    command("health", _health, "Check the database (and Redis); exit 0 when healthy.")
    demo = command("demo", _demo, "Play a scripted stream through real signed webhooks.")
    demo.add_argument(
        "--viewers", type=number_in(1, 10_000), default=36, help="viewers in the scripted stream"
    )
    demo.add_argument(
        "--minutes", type=number_in(1, 1440), default=30, help="simulated minutes of stream"
    )
    demo.add_argument(
        "--dashboard",
        action="store_true",
        help="instead, leave the dashboard up on 127.0.0.1 with a seeded server and a sign-in "
        "that needs no Discord account (until Ctrl+C)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="with --dashboard: a loopback address")
    demo.add_argument(
        "--port", type=number_in(1, 65_535), default=8080, help="with --dashboard: the port"
    )


def _serve(args: argparse.Namespace, *, web: bool, pipeline: bool) -> int:
    runtime = open_runtime(args)
    try:
        asyncio.run(_serve_until_signalled(runtime, web=web, pipeline=pipeline))
    finally:
        runtime.close()
    return 0


async def _serve_until_signalled(runtime, *, web: bool, pipeline: bool) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    server = (
        _listening(runtime.start_web_server, runtime, "PORT", runtime.settings.web.port)
        if web
        else None
    )
    if server is not None:
        log.info(
            "web side listening on %s; webhooks: %s", server.url, runtime.webhooks_check().detail
        )
        log.info("Set up StreamKeeper in your browser: %s", setup_url(runtime, server.port))
    elif pipeline:
        server = _listening(
            runtime.start_ops_server,
            runtime,
            "BOT_METRICS_PORT",
            runtime.settings.web.bot_metrics_port,
        )
        if server is not None:
            log.info("this bot process's /health and /metrics: %s", server.url)
    tasks = []
    if pipeline:
        tasks.append(asyncio.create_task(runtime.run_pipeline(stop), name="pipeline"))
        tasks.append(asyncio.create_task(_discord(runtime, stop), name="discord"))
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            server.close()


def _listening(start: Callable[[], T], runtime, setting: str, port: int | None) -> T:  # type: ignore[no-untyped-def]
    """``start()``'s server, or the one line that says why it cannot listen and what to set."""
    try:
        return start()
    except OSError as exc:
        words = cannot_listen(exc, runtime.settings.web.host, port, setting)
        if words is None:
            raise
        raise CommandFailed(words) from None


def setup_url(runtime, port: int) -> str:  # type: ignore[no-untyped-def]
    """The setup page with this process's one-time token (core/web/setup/): on this machine's
    loopback address, which a server listening on every address answers too."""
    host = runtime.settings.web.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (compared, not bound)
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/setup?token={runtime.setup_token.value}"


async def _discord(runtime, stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    token = runtime.settings.discord.token
    if not token:
        log.info("Discord side is off: DISCORD_TOKEN is not set (web and event pipeline run on)")
        return
    from core.discord_bot.bot import create_bot
    from core.discord_bot.running import run_bot

    services = runtime.bot_services()
    # Slash commands are uploaded to Discord only when the command set changes.
    bot = create_bot(
        services,
        command_hash_path=runtime.settings.data_dir / "discord-commands.sha256",
        shard=runtime.settings.discord.shard,
        windows=runtime.windows,  # Discord's global limit, shared by every bot process
    )
    runtime.discord.attach(bot)
    try:
        await run_bot(bot, token, stop, runtime.discord.status)
    finally:
        runtime.discord.detach()


def _run(args: argparse.Namespace) -> int:
    return _serve(args, web=True, pipeline=True)


def _bot(args: argparse.Namespace) -> int:
    return _serve(args, web=False, pipeline=True)


def _web(args: argparse.Namespace) -> int:
    return _serve(args, web=True, pipeline=False)


def _migrate(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    try:
        print(f"Database is up to date ({runtime.engine.dialect.name}).")  # noqa: T201
    finally:
        runtime.close()
    return 0


def _health(args: argparse.Namespace) -> int:
    runtime = open_runtime(args, migrate=False)
    try:
        report = runtime.health()
    finally:
        runtime.close()
    for line in report.lines():
        print(line)  # noqa: T201
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    if args.dashboard:
        from core.demo_site import run_demo_site

        return run_demo_site(host=args.host, port=args.port)
    from core.demo import run_demo

    return run_demo(viewers=args.viewers, minutes=args.minutes)
