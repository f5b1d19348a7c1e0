"""Platform adapters sit below the feature services (docs/architecture.md, "Layers"): they
implement the features' ports, so from ``core.features`` they may import a ``ports`` module and
nothing else (no service, repository or table), and the layers below them (events, storage,
the bus, ownership, rate windows) import no feature at all."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = ROOT / "core" / "platforms"
BELOW_ADAPTERS = [ROOT / "core" / name for name in ("events", "bus", "ownership", "ratelimits")]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def _offences(folders: list[Path], allowed: Callable[[str], bool]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {module}"
        for folder in folders
        for path in sorted(folder.rglob("*.py"))
        for module in _imports(path)
        if module.startswith("core.features") and not allowed(module)
    ]


def test_platform_adapters_import_only_the_features_ports():
    def is_ports(module: str) -> bool:
        return module.rsplit(".", 1)[-1] == "ports"

    assert _offences([ADAPTERS], is_ports) == []


def test_the_layers_below_the_adapters_import_no_feature():
    assert _offences(BELOW_ADAPTERS, lambda module: False) == []


def test_the_check_sees_an_import_it_must_refuse(tmp_path: Path):
    module = tmp_path / "adapter.py"
    module.write_text("from core.features.vip.service import VipService\n")
    assert _imports(module) == ["core.features.vip.service"]
