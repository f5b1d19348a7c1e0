"""Temporary VIP's modules import one another in one direction: no loop among them."""

from __future__ import annotations

import ast
from pathlib import Path

FEATURE = Path(__file__).resolve().parents[3] / "core" / "features" / "vip"
PACKAGE = "core.features.vip"


def _imports() -> dict[str, set[str]]:
    """Each module of the feature and the feature's modules it imports (at any level)."""
    modules = {path.stem: path for path in FEATURE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            if node.module == PACKAGE:
                found |= {alias.name for alias in node.names if alias.name in modules}
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module.rsplit(".", 1)[1])
        graph[name] = found
    return graph


def _a_loop(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        if name in done:
            return None
        visiting.append(name)
        for imported in sorted(graph.get(name, ())):
            if (loop := visit(imported)) is not None:
                return loop
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        if (loop := visit(name)) is not None:
            return loop
    return None


def test_the_vip_modules_import_one_another_without_a_loop() -> None:
    assert _a_loop(_imports()) is None


def test_the_loop_finder_finds_a_loop() -> None:
    assert _a_loop({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_twitch_adapter_lives_with_the_twitch_platform() -> None:
    assert not (FEATURE / "helix_channel.py").exists()
    assert (FEATURE.parents[1] / "platforms" / "twitch" / "vip_channel.py").exists()
