"""``python -m core raffle export|verify|admins``: a closed period's draw proof, checking one,
and which admin each pseudonym in a period's public ledger is."""

from __future__ import annotations

import argparse
import errno
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli import AddCommand, BadInput, CommandFailed, fails_with, id_number, open_runtime
from core.features.quoting import one_line

if TYPE_CHECKING:
    from core.features.raffle.draws.verification import Verification

USAGE = (
    "Say what to do: 'raffle export <period> [--out DIR]', 'raffle verify <proof> <ledger>' "
    "or 'raffle admins --period <period>'."
)


def register(command: AddCommand) -> None:
    raffle = command(
        "raffle",
        fails_with(USAGE),
        "Export a raffle period's draw proof, verify one, or map its admins' pseudonyms back.",
    )
    raffle_sub = raffle.add_subparsers(dest="raffle_command", metavar="action")
    raffle_export = raffle_sub.add_parser(
        "export", help="Write a closed period's proof and frozen ledger as JSON files."
    )
    raffle_export.add_argument("period", type=id_number, help="the period number (see !fair)")
    raffle_export.add_argument("--out", default=".", help="directory to write into")
    raffle_export.set_defaults(handler=_raffle_export)
    raffle_verify = raffle_sub.add_parser(
        "verify",
        help="Recompute the winners from a proof and a ledger; exit 1 on mismatch, 2 when a "
        "file is not a proof or ledger.",
    )
    raffle_verify.add_argument("proof", help="the proof JSON file")
    raffle_verify.add_argument("ledger", help="the ledger JSON file")
    raffle_verify.set_defaults(handler=_raffle_verify)
    raffle_admins = raffle_sub.add_parser(
        "admins",
        help="Print each admin pseudonym of a period's public ledger with the Discord id it "
        "stands for (from the database: the operator only).",
    )
    raffle_admins.add_argument("--period", type=id_number, required=True, help="the period number")
    raffle_admins.set_defaults(handler=_raffle_admins)


def _raffle_export(args: argparse.Namespace) -> int:
    from core.features.raffle.errors import RaffleRefused

    out = Path(args.out)
    _check_writable(out)  # before the database: a typo costs no export
    runtime = open_runtime(args)
    try:
        proof = runtime.raffle.views.export(args.period)
    except RaffleRefused as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    files = {
        out / f"raffle-{args.period}-{kind}.json": document
        for kind, document in (("proof", proof.document), ("ledger", proof.ledger))
    }
    try:
        _write_both(out, files)
    except OSError as exc:  # what the check cannot see: a full disk, a folder named as a file
        raise _cannot_write(out, exc.strerror or str(exc)) from None
    for path in files:
        print(path)  # noqa: T201
    return 0


def _write_both(out: Path, files: dict[Path, object]) -> None:
    """Both files or neither: each is written beside its name first and renamed once both are
    whole, so a full disk or a name taken by a folder leaves no proof without its ledger."""
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    parts = {path: path.with_name(f".{path.name}.part") for path in files}
    try:
        for path, document in files.items():
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            parts[path].write_text(text, "utf-8")
        for path, part in parts.items():
            part.replace(path)
    finally:
        for part in parts.values():
            part.unlink(missing_ok=True)


def _check_writable(out: Path) -> None:
    """Refuses (:class:`BadInput`, one line) an ``--out`` that is no directory this process can
    write in, or make: the nearest part of it that exists must be a directory it may write."""
    try:
        there = next((path for path in (out, *out.parents) if path.exists()), None)
    except OSError as exc:  # a part of it this process may not look in
        raise _cannot_write(out, exc.strerror or str(exc)) from None
    if there is None:  # not even the working directory: writing says why
        return
    what = "it" if there == out else str(there)
    if not there.is_dir():
        raise _cannot_write(out, f"{what} is a file, not a directory.")
    if not os.access(there, os.W_OK | os.X_OK):
        raise _cannot_write(out, f"{what} may not be written by this user.")


def _cannot_write(out: Path, reason: str) -> BadInput:
    return BadInput(one_line(f"Could not write to {out}: {reason}"))


def _raffle_admins(args: argparse.Namespace) -> int:
    from core.features.raffle.errors import RaffleRefused

    runtime = open_runtime(args)
    try:
        admins = runtime.raffle.views.admins(args.period)
    except RaffleRefused as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        runtime.close()
    if not admins:
        print(f"No admin changed period {args.period}'s tickets by hand or forced its draws.")  # noqa: T201
    for name, discord_id in admins.items():
        print(f"{name} {discord_id}")  # noqa: T201
    return 0


def _raffle_verify(args: argparse.Namespace) -> int:
    """Pure recomputation from the two files: no database, no network."""
    try:
        proof, ledger = _read(args.proof), _read(args.ledger)
    except MemoryError:
        raise BadInput("Could not read the proof and ledger: not enough memory.") from None
    except OSError as exc:
        raise BadInput(f"Could not read the proof and ledger: {exc}") from exc
    result = verify_documents(proof, ledger)
    if result.matches:
        print(f"match: {result.draws_checked} draw(s) recomputed from the proof and ledger")  # noqa: T201
        for note in result.notes:
            print(one_line(note))  # noqa: T201
        return 0
    print("MISMATCH:")  # noqa: T201
    for problem in result.problems:  # they quote the files' values: any length, any character
        print(f"- {one_line(problem)}")  # noqa: T201
    return 1


MAX_FILE_BYTES = 1 << 30  # a ledger of millions of rows is a few hundred MB


def _read(path: str) -> bytes:
    """One of the two files, refused past :data:`MAX_FILE_BYTES` before it fills the memory.
    Read a MiB at a time: a read of the whole allowance at once reserves it first, which a
    command limited to less memory cannot do even for a small file."""
    chunks, size = [], 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise BadInput(f"Could not read the proof and ledger: {path} is over 1 GiB.")
            chunks.append(chunk)
    return b"".join(chunks)


def verify_documents(proof: bytes, ledger: bytes) -> Verification:
    """The verification of a proof and a ledger as their files hold them; :class:`BadInput`
    (one line) when either is not such a document, whatever the bytes."""
    from core.features.raffle.draws.verification import verify

    try:
        return verify(json.loads(proof.decode("utf-8")), json.loads(ledger.decode("utf-8")))
    except MemoryError:
        raise BadInput(
            "Could not read the proof and ledger: they need more memory than this machine "
            "gives the command (a genuine ledger takes a few times its size)."
        ) from None
    except RecursionError:
        raise BadInput(
            "Could not read the proof and ledger: a value is nested too deeply."
        ) from None
    except KeyError as exc:  # the bare key alone ("'guild_id'") says nothing to the operator
        raise BadInput(f"Could not read the proof and ledger: {exc} is missing.") from exc
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        # ArithmeticError: a number no whole count can be ("amount": 1e999 is infinite).
        raise BadInput(f"Could not read the proof and ledger: {exc}") from exc
