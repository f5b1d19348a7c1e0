"""Storage is infrastructure: it knows no feature, front end or composition. Features declare their
tables on its MetaData; the whole schema is gathered above it (core/features/schema.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import core.storage
from core.features.schema import all_tables

STORAGE = Path(core.storage.__file__).parent
ABOVE_STORAGE = ("core.features", "core.wiring", "core.runtime", "core.web", "core.discord_bot")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_storage_module_imports_a_layer_above_it() -> None:
    offenders = {
        str(path.relative_to(STORAGE)): sorted(
            name for name in imported_modules(path) if name.startswith(ABOVE_STORAGE)
        )
        for path in STORAGE.rglob("*.py")  # the migrations too: history must not need features
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_guard_sees_an_import_of_a_feature(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("import core.features.raffle\nfrom core.features.vip import tables\n")
    assert imported_modules(module) == {"core.features.raffle", "core.features.vip"}


def test_every_feature_registers_its_tables_by_declaring_them() -> None:
    tables = all_tables().tables
    bus = {"bus_events", "webhook_receipts"}
    some_of_each = {"raffle_ledger", "vip_grants", "heists", "watchtime", "account_links"}
    assert bus | some_of_each <= set(tables)
