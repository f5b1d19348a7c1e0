"""The command line: ``python -m core <command>``. These command forms are a contract."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

import redis

from core.config import SettingsError, load_settings
from core.logs import configure_logging
from core.security.secrets import MissingSecret
from core.storage.db import DatabaseUnavailable

log = logging.getLogger("core")


class CommandFailed(Exception):
    """A command could not do its job; the message is the one line the operator sees."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)  # noqa: T201
        return 2
    except (CommandFailed, DatabaseUnavailable, MissingSecret) as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="StreamKeeper")
    sub = parser.add_subparsers(dest="command", metavar="command")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(handler=handler)
        return cmd

    command("run", _run, "Run everything in one process: web, event pipeline, scheduler, bot.")
    command("bot", _bot, "Run the event pipeline, the scheduler and the Discord bot (no web).")
    command("web", _web, "Run the web side only (webhooks, health, metrics).")
    command("migrate", _migrate, "Bring the database schema up to date.")
    command("health", _health, "Check the database (and Redis); exit 0 when healthy.")
    demo = command("demo", _demo, "Play a scripted stream through real signed webhooks.")
    demo.add_argument("--viewers", type=int, default=36, help="viewers in the scripted stream")
    demo.add_argument("--minutes", type=int, default=30, help="simulated minutes of stream")

    export = command(
        "export", _export, "Write a guild's watchtime (or VIP audit log) to standard output."
    )
    export.add_argument("--guild", type=int, required=True, help="Discord server id")
    export.add_argument("--what", choices=("watchtime", "vip-audit"), default="watchtime")
    export.add_argument("--format", choices=("json", "csv"), default="json")

    guild = command("guild", _guild_help, "Add or show a guild's platform channels.")
    guild_sub = guild.add_subparsers(dest="guild_command", metavar="action")
    add = guild_sub.add_parser("add", help="Tie a guild to a Kick and/or a Twitch channel.")
    add.add_argument("guild_id", type=int, help="Discord server id")
    add.add_argument("--kick-channel", help="Kick channel name (slug)")
    add.add_argument("--kick-broadcaster-id", help="Kick broadcaster user id")
    add.add_argument("--twitch-channel", help="Twitch channel login")
    add.add_argument("--twitch-broadcaster-id", help="Twitch broadcaster user id")
    add.set_defaults(handler=_guild_add)
    show = guild_sub.add_parser("show", help="Show a guild's channels.")
    show.add_argument("guild_id", type=int, help="Discord server id")
    show.set_defaults(handler=_guild_show)

    raffle = command("raffle", _raffle_help, "Export a raffle period's draw proof, or verify one.")
    raffle_sub = raffle.add_subparsers(dest="raffle_command", metavar="action")
    raffle_export = raffle_sub.add_parser(
        "export", help="Write a closed period's proof and frozen ledger as JSON files."
    )
    raffle_export.add_argument("period", type=int, help="the period number (see !fair)")
    raffle_export.add_argument("--out", default=".", help="directory to write into")
    raffle_export.set_defaults(handler=_raffle_export)
    raffle_verify = raffle_sub.add_parser(
        "verify", help="Recompute the winners from a proof and a ledger; exit 1 on mismatch."
    )
    raffle_verify.add_argument("proof", help="the proof JSON file")
    raffle_verify.add_argument("ledger", help="the ledger JSON file")
    raffle_verify.set_defaults(handler=_raffle_verify)
    return parser


def _runtime(*, migrate: bool = True):  # type: ignore[no-untyped-def]
    from core.runtime import Runtime

    settings = load_settings()
    configure_logging(settings.logging)
    runtime = Runtime(settings)
    try:
        if runtime.redis is not None:
            runtime.redis.ping()
        if migrate:
            runtime.migrate()
    except redis.RedisError as exc:
        runtime.close()
        raise CommandFailed("Could not connect to Redis. Is it running?") from exc
    except BaseException:
        runtime.close()
        raise
    return runtime


def _serve(*, web: bool, pipeline: bool) -> int:
    runtime = _runtime()
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
    server = runtime.start_web_server() if web else None
    if server is not None:
        log.info("web side listening on %s (webhooks at /webhooks/kick)", server.url)
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


async def _discord(runtime, stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    token = runtime.settings.discord.token
    if not token:
        log.info("Discord side is off: DISCORD_TOKEN is not set (web and event pipeline run on)")
        return
    from core.discord_bot.bot import create_bot, run_bot

    services = runtime.bot_services()
    # Slash commands are uploaded to Discord only when the command set changes.
    bot = create_bot(
        services, command_hash_path=runtime.settings.data_dir / "discord-commands.sha256"
    )
    runtime.discord.attach(bot)
    try:
        await run_bot(bot, token, stop)
    finally:
        runtime.discord.detach()


def _run(_args: argparse.Namespace) -> int:
    return _serve(web=True, pipeline=True)


def _bot(_args: argparse.Namespace) -> int:
    return _serve(web=False, pipeline=True)


def _web(_args: argparse.Namespace) -> int:
    return _serve(web=True, pipeline=False)


def _migrate(_args: argparse.Namespace) -> int:
    runtime = _runtime()
    try:
        print(f"Database is up to date ({runtime.engine.dialect.name}).")  # noqa: T201
    finally:
        runtime.close()
    return 0


def _health(_args: argparse.Namespace) -> int:
    runtime = _runtime(migrate=False)
    try:
        report = runtime.health()
    finally:
        runtime.close()
    for line in report.lines():
        print(line)  # noqa: T201
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from core.demo import run_demo

    return run_demo(viewers=args.viewers, minutes=args.minutes)


def _export(args: argparse.Namespace) -> int:
    if args.what == "vip-audit":
        return _export_vip_audit(args)
    runtime = _runtime()
    try:
        rows = runtime.watchtime.export(args.guild)
    finally:
        runtime.close()
    records = [
        {
            "platform": str(row.platform),
            "platform_user_id": row.platform_user_id,
            "username": row.username,
            "seconds": row.seconds,
            "last_seen": row.last_seen.isoformat() if row.last_seen else None,
        }
        for row in rows
    ]
    fields = ["platform", "platform_user_id", "username", "seconds", "last_seen"]
    return _write_records(records, fields, args.format)


def _export_vip_audit(args: argparse.Namespace) -> int:
    from core.features.vip.export import EXPORT_FIELDS, export_audit

    runtime = _runtime()
    try:
        records = export_audit(runtime.engine, args.guild)
    finally:
        runtime.close()
    return _write_records(records, list(EXPORT_FIELDS), args.format)


def _write_records(records: list[dict[str, Any]], fields: list[str], form: str) -> int:
    if form == "json":
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return 0


def _guild_help(_args: argparse.Namespace) -> int:
    raise CommandFailed(
        "Say what to do: 'guild add <guild_id> --kick-channel ... --twitch-channel ...' "
        "or 'guild show <guild_id>'."
    )


def _guild_add(args: argparse.Namespace) -> int:
    from core.features.guilds.service import InvalidGuildInput

    kick = _channel_pair(args.kick_channel, args.kick_broadcaster_id, "kick")
    twitch = _channel_pair(args.twitch_channel, args.twitch_broadcaster_id, "twitch")
    if kick is None and twitch is None:
        raise CommandFailed(
            "Give a channel: --kick-channel and --kick-broadcaster-id, "
            "and/or --twitch-channel and --twitch-broadcaster-id."
        )
    runtime = _runtime()
    try:
        if kick is not None:
            view = runtime.guilds.set_kick_channel(args.guild_id, *kick)
        if twitch is not None:
            view = runtime.guilds.set_twitch_channel(args.guild_id, *twitch)
    except InvalidGuildInput as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    _print_guild(view)
    return 0


def _channel_pair(
    channel: str | None, broadcaster_id: str | None, flag: str
) -> tuple[str, str] | None:
    """Both of a platform's flags, or neither; one alone is a mistake worth one plain line."""
    if channel is None and broadcaster_id is None:
        return None
    if channel is None or broadcaster_id is None:
        raise CommandFailed(f"--{flag}-channel and --{flag}-broadcaster-id go together.")
    return channel, broadcaster_id


def _guild_show(args: argparse.Namespace) -> int:
    runtime = _runtime()
    try:
        view = runtime.guilds.show(args.guild_id)
    except LookupError as exc:
        raise CommandFailed(
            f"Guild {args.guild_id} is not set up; add it with 'guild add'."
        ) from exc
    finally:
        runtime.close()
    _print_guild(view)
    return 0


def _print_guild(view) -> None:  # type: ignore[no-untyped-def]
    print(f"Guild {view.guild_id}")  # noqa: T201
    if not view.channels:
        print("  no channels yet")  # noqa: T201
    for channel in view.channels:
        print(  # noqa: T201
            f"  {channel.platform}: {channel.channel_slug} "
            f"(broadcaster id {channel.broadcaster_user_id})"
        )


# --- raffle proofs ----------------------------------------------------------------------------


def _raffle_help(_args: argparse.Namespace) -> int:
    print("Usage: python -m core raffle export <period> | verify <proof> <ledger>")  # noqa: T201
    return 2


def _raffle_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.features.raffle.errors import RaffleRefused

    runtime = _runtime()
    try:
        proof = runtime.raffle.views.export(args.period)
    except RaffleRefused as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for kind, document in (("proof", proof.document), ("ledger", proof.ledger)):
        path = out / f"raffle-{args.period}-{kind}.json"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(path)  # noqa: T201
    return 0


def _raffle_verify(args: argparse.Namespace) -> int:
    """Pure recomputation from the two files: no database, no network."""
    from core.features.raffle.fairness import verify

    try:
        with open(args.proof, encoding="utf-8") as proof_file:
            proof = json.load(proof_file)
        with open(args.ledger, encoding="utf-8") as ledger_file:
            ledger = json.load(ledger_file)
        result = verify(proof, ledger)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CommandFailed(f"Could not read the proof and ledger: {exc}") from exc
    if result.matches:
        print(f"match: {result.draws_checked} draw(s) recomputed from the proof and ledger")  # noqa: T201
        return 0
    print("MISMATCH:")  # noqa: T201
    for problem in result.problems:
        print(f"- {problem}")  # noqa: T201
    return 1


if __name__ == "__main__":
    sys.exit(main())
