"""``python -m core overlay url --guild <id> --kind heist|raffle|alerts|goal [--rotate]``: the
secret URL of a guild's on-stream overlay, for an OBS browser source."""

from __future__ import annotations

import argparse

from core.cli import AddCommand, fails_with, id_number, open_runtime, require_guild

KINDS = ("heist", "raffle", "alerts", "goal")


USAGE = "Say what to do: 'overlay url --guild <id> --kind heist|raffle|alerts|goal [--rotate]'."


def register(command: AddCommand) -> None:
    overlay = command("overlay", fails_with(USAGE), "Print a guild's overlay URL for OBS.")
    overlay_sub = overlay.add_subparsers(dest="overlay_command", metavar="action")
    url = overlay_sub.add_parser(
        "url", help="Print the overlay's URL (made on first use); --rotate makes a new one."
    )
    url.add_argument("--guild", type=id_number, required=True, help="Discord server id")
    url.add_argument("--kind", choices=KINDS, required=True, help="which overlay")
    url.add_argument(
        "--rotate", action="store_true", help="replace the URL: the old one stops working at once"
    )
    url.set_defaults(handler=_overlay_url)


def _overlay_url(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    try:
        require_guild(runtime, args.guild)
        url = runtime.overlays.url(args.guild, args.kind, rotate=args.rotate)
    finally:
        runtime.close()
    print(url)  # noqa: T201
    return 0
