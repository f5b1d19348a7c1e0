"""The command line: ``python -m core <command>``. These command forms are a contract.

Each module of this package owns a few commands and declares them in ``register(command)``;
the parser finds the modules by looking, so a feature's commands live in one file here.
A command that needs the running parts opens them with ``open_runtime(args)``: the composition
root is handed in by ``core/__main__.py`` (``main(argv, make_runtime)``), never imported here.
"""

from __future__ import annotations

import argparse
import csv
import errno
import importlib
import json
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import redis

from core.config import Settings, SettingsError, load_settings
from core.features.quoting import shown
from core.features.typed_numbers import BIGINT_MAX, whole_in
from core.logs import configure_logging
from core.security.secrets import MissingSecret
from core.storage.db import DatabaseUnavailable


class CommandFailed(Exception):
    """A command could not do its job; the message is the one line the operator sees. Exit
    status 1."""

    exit_status = 1


class BadInput(CommandFailed):
    """What the operator typed cannot be used (an amount, a number out of range): one line,
    exit status 2, as for a usage error."""

    exit_status = 2


def fails_with(usage: str) -> Callable[[argparse.Namespace], int]:
    """The handler of a command run without its action (``guild`` alone): it fails with
    ``usage``, the one line saying what to type."""

    def handler(_args: argparse.Namespace) -> int:
        raise BadInput(usage)

    return handler


def number_in(low: int, high: int) -> Callable[[str], int]:
    """The argparse ``type`` of a number typed on the command line: ASCII digits from ``low``
    to ``high``. Anything else is argparse's usage error, exit status 2."""

    def read(text: str) -> int:
        number = whole_in(text, low=low, high=high)
        if number is None:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high} (digits only), got {shown(text)}"
            )
        return number

    return read


# Every id typed on the command line, a Discord server id as a raffle period's number: from 1
# to 2**63 - 1 (Discord's snowflakes, and what the database's BIGINT holds).
id_number = number_in(1, BIGINT_MAX)


class AddCommand(Protocol):
    def __call__(
        self, name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser: ...


# Builds the runtime (core.runtime.Runtime) from the settings: the composition root's own class,
# handed in by the entry point. Typed loosely so that the command line does not import it.
MakeRuntime = Callable[[Settings], Any]


def main(argv: Sequence[str] | None, make_runtime: MakeRuntime) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.make_runtime = make_runtime
    if args.command is None:
        parser.print_help()
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    if sys.stdout is None:  # started with standard output closed (>&-): what it says goes nowhere
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
    try:
        status = handler(args)
        sys.stdout.flush()  # what is left for standard output fails here, not at exit
        return status
    except SettingsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)  # noqa: T201
        return 2
    except CommandFailed as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return exc.exit_status
    except MissingSecret as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 2  # a secret setting missing or wrong: a setting to fix, as SettingsError
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``export ... | head``: the reader stopped; nothing to say
        _quiet_stdout()
        return STDOUT_CLOSED
    except OSError as exc:
        if exc.errno not in _FULL and _stdout_writes():
            raise
        print(f"Could not write the output ({exc.strerror or exc}).", file=sys.stderr)  # noqa: T201
        _quiet_stdout()
        return 1


# The exit status a shell shows for a command whose reader closed its pipe (128 + SIGPIPE).
STDOUT_CLOSED = 141


# A write that the disk refused: the commands that write files say so themselves, so one
# that reaches main() was writing standard output (``export ... > file`` on a full disk).
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _stdout_writes() -> bool:
    """Whether standard output takes what is left for it (False: the error was writing it, a
    full disk for ``export ... > file``)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return False
    return True


def _quiet_stdout() -> None:
    """Standard output pointed at /dev/null, so that the interpreter's last flush of what is
    left for the closed pipe does not print a second error on the way out."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's buffer): nothing left
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


# The serving commands come first in the help; the rest follow in file name order.
_FIRST = ("serve",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="StreamKeeper")
    sub = parser.add_subparsers(dest="command", metavar="command")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(handler=handler)
        return cmd

    names = sorted(
        (info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")),
        key=lambda name: (name not in _FIRST, name),
    )
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(command)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Each action's ``--help`` (``guild add --help``) opens with the line its command's list
    shows for it (argparse shows that line in the list only), as a command's own does."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:
                child = action.choices[listed.dest]
                if child.description is None:
                    child.description = listed.help
                _describe(child)


def open_runtime(args: argparse.Namespace, *, migrate: bool = True) -> Any:
    """A runtime for one command (made by the ``make_runtime`` that ``main`` was given),
    connected and migrated; the caller closes it."""
    settings = load_settings()
    configure_logging(settings.logging)
    runtime = args.make_runtime(settings)
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


def require_guild(runtime: Any, guild_id: int) -> None:
    """Refuses (:class:`BadInput`, one line) a guild nobody set up: a command that would write
    for it writes where nothing reads."""
    try:
        runtime.guilds.show(guild_id)
    except LookupError:
        raise BadInput(f"Guild {guild_id} is not set up; add it with 'guild add'.") from None


def require_guild_or_data(runtime: Any, guild_id: int, found: object) -> None:
    """A read that found nothing (``found`` empty) for a guild nobody set up is refused as
    :func:`require_guild` refuses: a mistyped id must not read as "no data". What a guild
    set up once left behind is still shown."""
    if not found:
        require_guild(runtime, guild_id)


def write_records(records: list[dict[str, Any]], fields: Sequence[str], form: str) -> int:
    """Records to standard output as a JSON array or as CSV with a header row (booleans as
    ``true``/``false`` in both)."""
    if form == "json":
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: csv_cell(value) for key, value in r.items()} for r in records)
    return 0


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: booleans as ``true``/``false``; text that a spreadsheet would
    run as a formula (a name an import brought in can be ``=HYPERLINK(...)``) gets a leading
    ``'``, so it shows as the text it is. Numbers stay numbers."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
