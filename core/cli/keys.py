"""``python -m core keys rotate``: seal every stored token and secret again with the first key of
``TOKEN_ENCRYPTION_KEY``, after a new key was put in front of the old one
(``TOKEN_ENCRYPTION_KEY=new,old``); once it reports nothing left under an old key, the old key
can be dropped from the setting. Run it with StreamKeeper stopped: a token refreshed meanwhile
is never overwritten, but a refresh that finds its token sealed again gives its new pair up."""

from __future__ import annotations

import argparse

from core.cli import AddCommand, fails_with, open_runtime
from core.features.key_rotation import rotate_keys

USAGE = "Say what to do: 'keys rotate'."


def register(command: AddCommand) -> None:
    keys = command("keys", fails_with(USAGE), "The key that encrypts stored tokens.")
    sub = keys.add_subparsers(dest="keys_command", metavar="action")
    rotate = sub.add_parser(
        "rotate",
        help="Encrypt every stored token again with the first key of TOKEN_ENCRYPTION_KEY.",
    )
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    try:
        with runtime.engine.begin() as conn:
            report = rotate_keys(conn, runtime.cipher)
    finally:
        runtime.close()
    for where, count in sorted(report.rotated.items()):
        print(f"sealed again {count} value(s) of {where}")  # noqa: T201
    for where, count in sorted(report.unreadable.items()):
        print(  # noqa: T201
            f"left {count} value(s) of {where} that no key of TOKEN_ENCRYPTION_KEY reads "
            "(sealed with a key no longer set)"
        )
    rotated, current = sum(report.rotated.values()), sum(report.current.values())
    if report.changing:
        for where, count in sorted(report.changing.items()):
            print(  # noqa: T201
                f"could not seal {count} value(s) of {where} again: they kept changing (is "
                "StreamKeeper running?)"
            )
        print(  # noqa: T201
            "Keep every key in TOKEN_ENCRYPTION_KEY: stop StreamKeeper and run 'keys rotate' again."
        )
        return 1
    print(  # noqa: T201
        f"{rotated} value(s) sealed again with the first key, {current} were already: the other "
        "keys can be dropped from TOKEN_ENCRYPTION_KEY."
    )
    return 0
