"""A person's data, for the operator answering their request (the privacy page sends people to
the operator): ``privacy export --member ID [--account kick:NAME ...]`` writes everything kept
about them as JSON on standard output and changes nothing; ``privacy forget`` (same options)
says what it would delete and what stays, and deletes it with ``--yes``; what it keeps only for
now (a seat in a heist under way, a VIP grant still running) goes when that ends, by itself
(core/features/privacy/finishing.py)."""

from __future__ import annotations

import argparse
import json
import sys

from core.cli import AddCommand, BadInput, fails_with, open_runtime
from core.features.importers.forgotten import hold_against_imports
from core.features.person_data import Person, find_person, named_accounts, person_rows
from core.features.person_forget import FOR_NOW, forget
from core.features.typed_numbers import discord_id

USAGE = "Say whose data: 'privacy export|forget --member <discord id> [--account kick:<name>]'."


def register(command: AddCommand) -> None:
    privacy = command("privacy", fails_with(USAGE), "A person's data, for their request.")
    sub = privacy.add_subparsers(dest="privacy_command", metavar="action")
    export = sub.add_parser(
        "export", help="Write everything kept about one person as JSON (secrets left out)."
    )
    _whose(export)
    export.set_defaults(handler=_export)
    erase = sub.add_parser(
        "forget",
        help="Say what would be deleted about one person and what stays; --yes deletes it.",
    )
    _whose(erase)
    erase.add_argument("--yes", action="store_true", help="delete it (else: only say what)")
    erase.set_defaults(handler=_forget)


def _whose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--member", help="their Discord user id (Developer Mode, Copy ID)")
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        help="a Kick or Twitch name of theirs not linked to Discord (kick:NAME, twitch:NAME); "
        "may be given again",
    )


def _person_asked(args: argparse.Namespace, conn) -> Person:  # type: ignore[no-untyped-def]
    member = None
    if args.member is not None:
        member = discord_id(args.member)
        if member is None:
            raise BadInput(f"--member is a Discord user id, got {args.member[:40]!r}.")
    try:
        named = named_accounts(args.account)
    except ValueError as exc:
        raise BadInput(f"--account: {exc}.") from None
    if member is None and not named:
        raise BadInput(USAGE)
    return find_person(conn, member, named)


def _forget(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    try:
        with runtime.engine.begin() as conn:
            if args.yes:  # an import writing now is waited for: its rows are found too
                hold_against_imports(conn)
            person = _person_asked(args, conn)
            report = forget(conn, person, runtime.clock(), delete=args.yes)
    finally:
        runtime.close()
    done = "deleted" if args.yes else "would delete"
    for table, rows in sorted(report.deleted.items()):
        print(f"{done} {rows} row(s) of {table}")  # noqa: T201
    for table, (rows, why) in sorted(report.kept.items()):
        print(f"{'kept' if args.yes else 'would keep'} {rows} row(s) of {table}: {why}")  # noqa: T201
    if report.for_now:
        print(_for_now(sum(report.for_now.values()), sorted(report.for_now), done=args.yes))  # noqa: T201
    if report.doubts_dropped:
        print(_doubts_dropped(report.doubts_dropped, done=args.yes))  # noqa: T201
    if report.role_servers:
        print(_roles_taken_back(report.role_servers, done=args.yes))  # noqa: T201
    if not report.deleted and not report.kept:
        print("Nothing is kept about them.")  # noqa: T201
    elif not args.yes:
        print("Nothing was deleted: run it again with --yes to delete.")  # noqa: T201
    return 0


def _doubts_dropped(calls: int, *, done: bool) -> str:
    what = (
        f"{calls} call(s) naming them whose fate is unknown (a chat line or a Discord post, "
        "no payment)"
    )
    if done:
        return f"Deleted {what}: admins no longer see them among the calls to settle."
    return f"Would delete {what}: admins would no longer see them among the calls to settle."


def _roles_taken_back(servers: int, *, done: bool) -> str:
    roles = "the linked, watchtime and Shuffle roles the bot gave them"
    where = f"in {servers} server(s)"
    if done:
        return f"The running bot takes back {roles} {where} (queued; tried until Discord answers)."
    return f"The bot would take back {roles} {where}."


def _for_now(rows: int, tables: list[str], *, done: bool) -> str:
    ends = " or ".join(FOR_NOW[table] for table in tables)
    if done:
        return (
            f"{rows} row(s) kept for now ({', '.join(tables)}) are deleted when {ends}; "
            "StreamKeeper finishes this by itself (it keeps the ids of their accounts, "
            "no names, until then)."
        )
    return (
        f"{rows} row(s) would be kept for now ({', '.join(tables)}), deleted when {ends}; "
        "StreamKeeper would finish this by itself."
    )


def _export(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    try:
        with runtime.engine.connect() as conn:
            person = _person_asked(args, conn)
            tables = person_rows(conn, person)
    finally:
        runtime.close()
    member = person.discord_user_id
    document = {
        "discord_user_id": None if member is None else str(member),
        "accounts": [f"{platform}:{user_id}" for platform, user_id in sorted(person.accounts)],
        "tables": tables,
    }
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0
