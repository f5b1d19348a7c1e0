"""``python -m core points give``: an operator's grant of points, recorded with actor "cli".
In a guild that keeps its points in StreamElements the grant is queued for StreamElements,
as ``!pointsgive`` and the dashboard queue theirs; a guild nobody set up is refused."""

from __future__ import annotations

import argparse
import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Any

from core.cli import (
    AddCommand,
    BadInput,
    CommandFailed,
    fails_with,
    id_number,
    open_runtime,
    require_guild,
)
from core.features.quoting import shown

if TYPE_CHECKING:
    from core.events import Platform
    from core.features.points.se_wallet import QueuedChange

USAGE = (
    "Say what to do: 'points give <guild_id> <platform> <platform_user_id> <amount> "
    "[--reason TEXT]'."
)


# Kick's and Twitch's user ids are numbers; ours are their digits, as the export lists them.
_USER_ID = re.compile(r"[0-9]{1,20}")
_EXAMPLE_ID = {"kick": "123456789", "twitch": "141981764"}


def register(command: AddCommand) -> None:
    points = command("points", fails_with(USAGE), "Give a viewer points (an operator's grant).")
    points_sub = points.add_subparsers(dest="points_command", metavar="action")
    give = points_sub.add_parser("give", help="Credit a viewer's balance in a guild.")
    give.add_argument("guild_id", type=id_number, help="Discord server id")
    give.add_argument("platform", help="kick or twitch")
    give.add_argument(
        "platform_user_id", help="the viewer's user id on that platform (digits, not a name)"
    )
    give.add_argument("amount", help="a whole number of points, at least 1")
    give.add_argument("--reason", default="", help="why (kept on the ledger row)")
    give.set_defaults(handler=_points_give)


def _points_give(args: argparse.Namespace) -> int:
    from core.events import Platform
    from core.features.points.service import PointsRefused, checked_reason, parse_amount

    try:
        platform = Platform(args.platform.strip().lower())
    except ValueError as exc:
        known = ", ".join(str(p) for p in Platform)
        raise BadInput(f"Unknown platform {args.platform!r}: use one of {known}.") from exc
    user_id = args.platform_user_id.strip()
    if not _USER_ID.fullmatch(user_id):  # a name typed for the id would credit nobody
        raise BadInput(
            f"The platform user id is the viewer's number on {platform} (digits only, e.g. "
            f"{_EXAMPLE_ID[str(platform)]}), got {shown(user_id)}; a name is not an id."
        )
    try:
        amount = parse_amount(args.amount)
        checked_reason(args.reason)  # to be typed again: refused before the database opens
    except PointsRefused as exc:
        raise BadInput(str(exc)) from exc
    runtime = open_runtime(args)
    try:
        require_guild(runtime, args.guild_id)
        name = runtime.points.name(args.guild_id)
        if runtime.points_wallet.uses_streamelements(args.guild_id):
            said = _queue_for_streamelements(runtime, args, platform, user_id, amount, name)
        else:
            balance = runtime.points.give(
                args.guild_id, platform, user_id, amount, actor="cli", reason=args.reason
            )
            said = f"Gave {amount:,} {name} to {platform}:{user_id}; balance {balance:,}."
    except PointsRefused as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    print(said)  # noqa: T201
    return 0


def _queue_for_streamelements(
    runtime: Any, args: argparse.Namespace, platform: Platform, user_id: str, amount: int, name: str
) -> str:
    """The grant queued for the ``streamelements`` worker, as ``!pointsgive`` queues it (our
    ledger, which nothing reads then, is not touched); what Discord and the dashboard say."""
    from core.features.points.se_logins import kick_without_twitch
    from core.features.points.se_words import queued_change_words

    seen_as = runtime.points.name_of(platform, user_id) or ""
    [login] = runtime.points_wallet.logins_of([(platform, user_id, seen_as)])
    if not login and str(platform) == "kick":
        raise BadInput(kick_without_twitch(f"{seen_as or 'the viewer'} ({user_id})"))
    if not login:
        raise BadInput(
            f"Viewer {platform}:{user_id} has not been seen yet: StreamElements keeps points "
            "by login, and theirs is not known."
        )

    async def queue() -> QueuedChange:
        try:
            return await runtime.points_wallet.queue_change(
                args.guild_id,
                login,
                amount,
                ref=f"cli:{uuid.uuid4()}",
                actor="cli",
                reason=args.reason,
            )
        finally:
            await runtime.shutdown()  # its HTTP clients, on the loop that used them

    change = asyncio.run(queue())
    who = f"{login} ({platform}:{user_id})"
    return queued_change_words(change, who, lambda points: f"{points:,} {name}")
