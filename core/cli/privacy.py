"""``python -m core privacy export --member ID [--account kick:NAME ...]``: everything kept
about one person, as JSON on standard output, for the operator answering their request (the
privacy page sends people to the operator). It reads; it changes nothing."""

from __future__ import annotations

import argparse
import json
import sys

from core.cli import AddCommand, BadInput, fails_with, open_runtime
from core.features.person_data import find_person, named_accounts, person_rows
from core.features.typed_numbers import discord_id

USAGE = "Say whose data: 'privacy export --member <discord id> [--account kick:<name>]'."


def register(command: AddCommand) -> None:
    privacy = command("privacy", fails_with(USAGE), "A person's data, for their request.")
    sub = privacy.add_subparsers(dest="privacy_command", metavar="action")
    export = sub.add_parser(
        "export", help="Write everything kept about one person as JSON (secrets left out)."
    )
    export.add_argument("--member", help="their Discord user id (Developer Mode, Copy ID)")
    export.add_argument(
        "--account",
        action="append",
        default=[],
        help="a Kick or Twitch name of theirs not linked to Discord (kick:NAME, twitch:NAME); "
        "may be given again",
    )
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
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
    runtime = open_runtime(args)
    try:
        with runtime.engine.connect() as conn:
            person = find_person(conn, member, named)
            tables = person_rows(conn, person)
    finally:
        runtime.close()
    document = {
        "discord_user_id": None if member is None else str(member),
        "accounts": [f"{platform}:{user_id}" for platform, user_id in sorted(person.accounts)],
        "tables": tables,
    }
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0
