"""``python -m core import ...``: another bot's data into StreamKeeper.

``import kick-watchtime-bot --from <database url> [--guild <id>] [--dry-run] [--force]`` and
``import streamelements-points --channel <id> --jwt-file <path> [--guild <id>] [--dry-run]
[--unchecked]``.
Bad input (an unreachable database, a schema of another version, an unknown guild, an earlier
import that did not finish) is one line on standard error and exit code 2. A guild whose writes
StreamKeeper's database refuses is rolled back and the other guilds are still imported: the
report, one line on standard error, and exit code 1 (points whose writes it refuses: one line,
exit code 1, nothing credited). An import stopped by anything else prints
the reports of the guilds it finished, then one line on standard error (exit code 1).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.cli import AddCommand, CommandFailed, fails_with, id_number, open_runtime

if TYPE_CHECKING:
    from core.features.importers.kick_names import KickLookup
    from core.features.importers.report import GuildReport
    from core.wiring.assembly import Assembly

BAD_INPUT = 2
WRITE_FAILED = 1  # a guild's writes failed and were rolled back; the other guilds imported


USAGE = (
    "Say what to import: 'import kick-watchtime-bot --from <database url>' or "
    "'import streamelements-points --channel <id> --jwt-file <path> [--guild <id>]'."
)


def register(command: AddCommand) -> None:
    imports = command(
        "import",
        fails_with(USAGE),
        "Import another bot's data: kick-watchtime-bot's database, or StreamElements points.",
    )
    sub = imports.add_subparsers(dest="import_command", metavar="source")
    kwb = sub.add_parser(
        "kick-watchtime-bot",
        help="Import kick-watchtime-bot's database: watchtime, links, role tiers, raffle.",
    )
    kwb.add_argument(
        "--from", dest="source_url", required=True, help="the other bot's DATABASE_URL"
    )
    kwb.add_argument("--guild", type=id_number, help="import only this Discord server")
    kwb.add_argument("--dry-run", action="store_true", help="show what would be imported")
    kwb.add_argument(
        "--force", action="store_true", help="run although an earlier import did not finish"
    )
    kwb.set_defaults(handler=_kick_watchtime_bot)
    se = sub.add_parser(
        "streamelements-points",
        help="Import a StreamElements channel's points into a guild's points ledger.",
    )
    se.add_argument(
        "--guild",
        type=id_number,
        help="the Discord server to credit (needed when there are several)",
    )
    se.add_argument("--channel", required=True, help="the StreamElements channel id (24 hex)")
    se.add_argument("--jwt-file", required=True, help="a file holding the channel's JWT")
    se.add_argument("--dry-run", action="store_true", help="show what would be imported")
    se.add_argument(
        "--unchecked",
        action="store_true",
        help="import without asking StreamElements whether the channel is the guild's streamer's",
    )
    se.set_defaults(handler=_streamelements_points)


def _kick_watchtime_bot(args: argparse.Namespace) -> int:
    from core.features.importers.errors import ImportProblem
    from core.features.importers.kwb_import import KickWatchtimeBotImport, first_line
    from core.features.importers.report import render

    runtime = open_runtime(args)
    try:
        importer = KickWatchtimeBotImport(
            runtime.engine, runtime.clock, partial(kick_lookup_for, runtime)
        )
        # Whatever stops the import, the guilds it finished were imported: their reports first.
        try:
            reports = asyncio.run(
                importer.run(
                    args.source_url, guild_id=args.guild, dry_run=args.dry_run, force=args.force
                )
            )
        except ImportProblem as exc:
            _print_done(importer.done, dry_run=args.dry_run)
            print(exc, file=sys.stderr)  # noqa: T201
            return BAD_INPUT
        except sa.exc.SQLAlchemyError as exc:
            _print_done(importer.done, dry_run=args.dry_run)
            raise CommandFailed(
                f"Writing to StreamKeeper's database failed ({type(exc).__name__}); the guild "
                "being imported was rolled back. Run the import again with --force."
            ) from exc
        except Exception as exc:
            _print_done(importer.done, dry_run=args.dry_run)
            print(  # noqa: T201
                f"Importing guild {importer.importing} stopped ({type(exc).__name__}: "
                f"{first_line(exc)}); nothing was written for it"
                + ("; the guilds above were imported" if importer.done else "")
                + f". Run the import again for it with --guild {importer.importing}.",
                file=sys.stderr,
            )
            return WRITE_FAILED
    finally:
        runtime.close()
    for line in render(reports, dry_run=args.dry_run):
        print(line)  # noqa: T201
    if importer.not_guilds:
        shown = ", ".join(str(server) for server in importer.not_guilds)
        print(f"Not imported (no such guild in StreamKeeper): servers {shown}.")  # noqa: T201
    failed = [str(report.guild_id) for report in reports if report.failure is not None]
    if failed:
        print(  # noqa: T201
            f"Writing failed for guild {', '.join(failed)} (rolled back; the others were "
            "imported): run the import again for it with --guild.",
            file=sys.stderr,
        )
        return WRITE_FAILED
    return 0


def _print_done(reports: list[GuildReport], *, dry_run: bool) -> None:
    """The reports of the guilds an import finished before it stopped."""
    from core.features.importers.report import render

    if reports:
        for line in render(reports, dry_run=dry_run):
            print(line)  # noqa: T201


def _streamelements_points(args: argparse.Namespace) -> int:
    from core.features.importers.errors import ImportProblem
    from core.features.importers.kwb_import import first_line
    from core.features.importers.report import render
    from core.features.importers.se_points import (
        SeOutcome,
        StreamElementsPointsImport,
        read_jwt,
    )
    from core.platforms.streamelements.api import StreamElementsPoints

    try:
        jwt = read_jwt(args.jwt_file)
    except ImportProblem as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return BAD_INPUT
    runtime = open_runtime(args)
    try:
        client = StreamElementsPoints(base_url=runtime.settings.streamelements.api_url)
        importer = StreamElementsPointsImport(
            runtime.engine,
            runtime.clock,
            client,
            runtime.points_wallet.backend_of,
            runtime.points_wallet.guilds_on_channel,
            _twitch_ids_of(runtime),
        )

        async def run() -> SeOutcome:
            try:
                return await importer.run(
                    args.guild, args.channel, jwt, dry_run=args.dry_run, unchecked=args.unchecked
                )
            finally:
                await client.aclose()

        try:
            outcome = asyncio.run(run())
        except ImportProblem as exc:
            print(exc, file=sys.stderr)  # noqa: T201
            return BAD_INPUT
        except sa.exc.SQLAlchemyError as exc:  # one transaction: nothing was credited
            raise CommandFailed(
                f"Writing to StreamKeeper's database failed ({type(exc).__name__}: "
                f"{first_line(exc)}); nothing was imported. Run the import again."
            ) from exc
    finally:
        runtime.close()
    if outcome.report is None:
        print(  # noqa: T201
            f"Nothing to do: guild {outcome.guild_id} keeps its points in StreamElements already "
            "(the StreamElements backend), so its balances are there."
        )
        return 0
    for line in render([outcome.report], dry_run=args.dry_run):
        print(line)  # noqa: T201
    return 0


def kick_lookup_for(runtime: Assembly, guild_id: int) -> KickLookup | None:
    """Kick's API with the guild's streamer connection (refreshed as needed); None when the
    guild has no working Kick connection."""
    from core.features.importers.kick_names import KickApiLookup

    if not runtime.kick_connections.status(guild_id).is_connected:
        return None
    with_token = partial(runtime.kick_connections.call_as_streamer, guild_id)
    return KickApiLookup(runtime.kick.api(), with_token)


def _twitch_ids_of(runtime: Assembly):  # type: ignore[no-untyped-def]
    """Twitch logins to ids through Helix with the app token; None where Twitch is not set up."""
    if not runtime.twitch.is_configured:
        return None

    async def ids_of(logins: Collection[str]) -> Mapping[str, str]:
        wanted = list(logins)
        helix = runtime.twitch.helix()
        try:
            users = await runtime.twitch_app_token.call(
                lambda token: helix.get_users(token, logins=wanted)
            )
        finally:
            await helix.aclose()
        return {user.login.lower(): user.id for user in users}

    return ids_of
