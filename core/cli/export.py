"""``python -m core export --guild ID --what NAME``: a guild's records from any feature that
declares ``EXPORTS`` in its ``export.py`` (see core/features/exports.py)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import core.features
from core.cli import AddCommand, id_number, open_runtime, require_guild_or_data, write_records
from core.features.exports import Export


def exports() -> dict[str, Export]:
    """Every feature's exports by name, found by looking for ``core/features/*/export.py``."""
    found: dict[str, Export] = {}
    for info in pkgutil.iter_modules(core.features.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"core.features.{info.name}.export")
        except ModuleNotFoundError as exc:
            if exc.name != f"core.features.{info.name}.export":
                raise
            continue
        for name, export in getattr(module, "EXPORTS", {}).items():
            if name in found:
                raise RuntimeError(f"two features export {name!r}")
            found[name] = export
    return found


def register(command: AddCommand) -> None:
    known = exports()
    kinds = ", ".join(f"{name} ({export.help})" for name, export in sorted(known.items()))
    export = command("export", _export, "Write a guild's records to standard output.")
    export.add_argument("--guild", type=id_number, required=True, help="Discord server id")
    export.add_argument(
        "--what", choices=sorted(known), default="watchtime", help=f"what to write: {kinds}"
    )
    export.add_argument("--format", choices=("json", "csv"), default="json")


def _export(args: argparse.Namespace) -> int:
    chosen = exports()[args.what]
    runtime = open_runtime(args)
    try:
        records = chosen.rows(runtime, args.guild)
        require_guild_or_data(runtime, args.guild, chosen.found(records))
    finally:
        runtime.close()
    return write_records(records, chosen.fields, args.format)
