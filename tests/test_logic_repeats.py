"""scripts/logic_repeats.py: what it blanks (declarations) and what it keeps (logic), line for
line, so a scan of its copy still points at the original's lines."""

from __future__ import annotations

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "logic_repeats.py"
script = runpy.run_path(str(SCRIPT))  # not as __main__: defines, runs nothing
declaration_lines, blank_tree = script["declaration_lines"], script["blank_tree"]

SOURCE = '''\
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import (
    Column,
    Table,
)

things = Table(
    "things",
    metadata,
    Column("id", Integer),
)
NAMES = {
    "a": 1,
}


@dataclass(frozen=True)
class Thing:
    id: str
    name: str = ""

    def shown(self) -> str:
        return self.name or self.id


class Store(Protocol):
    def get(self, key: str) -> Thing:
        """The thing."""

    def put(
        self,
        thing: Thing,
    ) -> None: ...


def total(values: list[int]) -> int:
    return sum(values)
'''


def kept(source: str, **options: bool) -> list[str]:
    blank = declaration_lines(source, **options)
    return [line for n, line in enumerate(source.split("\n"), 1) if n not in blank]


def test_declarations_are_blanked_and_logic_kept():
    assert [line.strip() for line in kept(SOURCE) if line.strip()] == [
        "@dataclass(frozen=True)",
        "class Thing:",
        "def shown(self) -> str:",
        "return self.name or self.id",
        "class Store(Protocol):",
        "def total(values: list[int]) -> int:",
        "return sum(values)",
    ]


def test_signatures_only_on_request():
    assert "def total(values: list[int]) -> int:" not in kept(SOURCE, signatures=True)
    assert "    return sum(values)" in kept(SOURCE, signatures=True)


def test_the_copy_keeps_every_line_number(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "module.py").write_text(SOURCE)
    blank_tree(tmp_path / "src", tmp_path / "copy")
    copied = (tmp_path / "copy" / "pkg" / "module.py").read_text().split("\n")
    original = SOURCE.split("\n")
    assert len(copied) == len(original)
    assert copied[original.index("def total(values: list[int]) -> int:")].startswith("def total")
    assert copied[original.index("    id: str")] == ""
