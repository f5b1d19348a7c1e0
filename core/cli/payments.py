"""``python -m core payments doubtful --guild G`` lists a guild's payments in doubt (outbox
calls that ended uncertain, no one settled yet); ``payments settle --guild G ID paid|again
[--reason T]`` settles one, recorded with actor "cli"."""

from __future__ import annotations

import argparse

from core.cli import (
    AddCommand,
    BadInput,
    CommandFailed,
    fails_with,
    open_runtime,
    require_guild_or_data,
)
from core.features.typed_numbers import whole_in

USAGE = (
    "Say what to do: 'payments doubtful --guild <id>' or "
    "'payments settle --guild <id> <call id> paid|again [--reason TEXT]'."
)


def register(command: AddCommand) -> None:
    payments = command(
        "payments", fails_with(USAGE), "List or settle payments in doubt (ended uncertain)."
    )
    sub = payments.add_subparsers(dest="payments_command", metavar="action")
    doubtful = sub.add_parser("doubtful", help="List a guild's payments in doubt, newest first.")
    doubtful.add_argument("--guild", required=True, help="Discord server id")
    doubtful.set_defaults(handler=_doubtful)
    settle = sub.add_parser(
        "settle", help="Settle one: paid (it landed) or again (it did not: send it once more)."
    )
    settle.add_argument("--guild", required=True, help="Discord server id")
    settle.add_argument("call_id", help="the call's number, as 'payments doubtful' lists it")
    settle.add_argument("action", help="paid or again")
    settle.add_argument("--reason", default="", help="why (kept with the settlement)")
    settle.set_defaults(handler=_settle)


def _number(text: str, what: str) -> int:
    number = whole_in(text, low=1)
    if number is None:
        raise BadInput(f"{what} is a whole number, got {text[:40]!r}.")
    return number


def _doubtful(args: argparse.Namespace) -> int:
    from core.features.payments.words import doubt_line

    guild_id = _number(args.guild, "The guild id")
    runtime = open_runtime(args)
    try:
        doubts = runtime.payment_doubts.doubtful(guild_id)
        require_guild_or_data(runtime, guild_id, doubts or runtime.payment_doubts.knows(guild_id))
    finally:
        runtime.close()
    if not doubts:
        print(f"No payments in doubt in guild {guild_id}.")  # noqa: T201
        return 0
    for doubt in doubts:
        print(doubt_line(doubt))  # noqa: T201
    return 0


def _settle(args: argparse.Namespace) -> int:
    from core.features.payments.service import SettleRefused, parse_action
    from core.features.payments.words import settled_line

    guild_id = _number(args.guild, "The guild id")
    call_id = _number(args.call_id, "The call id")
    try:
        action = parse_action(args.action)
    except SettleRefused as exc:
        raise BadInput(str(exc)) from exc
    runtime = open_runtime(args)
    try:
        settled = runtime.payment_doubts.settle(
            guild_id, call_id, action, actor="cli", reason=args.reason
        )
    except SettleRefused as exc:
        require_guild_or_data(runtime, guild_id, runtime.payment_doubts.knows(guild_id))
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    print(settled_line(settled))  # noqa: T201
    return 0
