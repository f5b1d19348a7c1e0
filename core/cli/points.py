"""``python -m core points give``: an operator's grant of points, recorded with actor "cli"."""

from __future__ import annotations

import argparse

from core.cli import AddCommand, BadInput, CommandFailed, fails_with, id_number, open_runtime

USAGE = (
    "Say what to do: 'points give <guild_id> <platform> <platform_user_id> <amount> "
    "[--reason TEXT]'."
)


def register(command: AddCommand) -> None:
    points = command("points", fails_with(USAGE), "Give a viewer points (an operator's grant).")
    points_sub = points.add_subparsers(dest="points_command", metavar="action")
    give = points_sub.add_parser("give", help="Credit a viewer's balance in a guild.")
    give.add_argument("guild_id", type=id_number, help="Discord server id")
    give.add_argument("platform", help="kick or twitch")
    give.add_argument("platform_user_id", help="the viewer's user id on that platform")
    give.add_argument("amount", help="a whole number of points, at least 1")
    give.add_argument("--reason", default="", help="why (kept on the ledger row)")
    give.set_defaults(handler=_points_give)


def _points_give(args: argparse.Namespace) -> int:
    from core.events import Platform
    from core.features.points.service import PointsRefused, parse_amount

    try:
        platform = Platform(args.platform.strip().lower())
    except ValueError as exc:
        known = ", ".join(str(p) for p in Platform)
        raise BadInput(f"Unknown platform {args.platform!r}: use one of {known}.") from exc
    user_id = args.platform_user_id.strip()
    if not user_id or len(user_id) > 64 or any(ch.isspace() for ch in user_id):
        raise BadInput("The platform user id is 1 to 64 characters without spaces.")
    try:
        amount = parse_amount(args.amount)
    except PointsRefused as exc:
        raise BadInput(str(exc)) from exc
    runtime = open_runtime(args)
    try:
        name = runtime.points.name(args.guild_id)
        balance = runtime.points.give(
            args.guild_id, platform, user_id, amount, actor="cli", reason=args.reason
        )
    except PointsRefused as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    print(f"Gave {amount:,} {name} to {platform}:{user_id}; balance {balance:,}.")  # noqa: T201
    return 0
