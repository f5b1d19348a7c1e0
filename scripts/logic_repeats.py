"""Copy a tree of Python files with the lines that only declare blanked, so that a scan for
repeated code (the ``duplicates`` command) lists the repeats of logic instead of burying them
under declarations that are alike by nature.

Blanked, keeping every line number (a row still points at the right lines of the original):
imports; ``Table(...)`` declarations; the fields and body-less methods of dataclasses,
Protocols, TypedDicts, NamedTuples and Enums; module and class constants that are literal
dicts, lists, tuples or sets; with ``--signatures``, every function's parameter list too.

    python3 scripts/logic_repeats.py core /tmp/core-logic [--signatures]
    duplicates --repo /tmp/core-logic --most 40
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

DECLARING_BASES = {"Protocol", "TypedDict", "NamedTuple", "Enum", "StrEnum", "IntEnum"}


def declaration_lines(source: str, *, signatures: bool = False) -> set[int]:
    """The numbers (from 1) of the lines of ``source`` that only declare."""
    lines: set[int] = set()

    def cover(node: ast.stmt | ast.expr) -> None:
        lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            cover(node)
        elif isinstance(node, ast.ClassDef) and _declares(node):
            for statement in node.body:
                if isinstance(statement, ast.AnnAssign | ast.Assign) or _is_stub(statement):
                    cover(statement)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and _is_literal_table(node.value):
            cover(node)
        if signatures and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines.update(range(node.lineno, node.body[0].lineno))
    return lines


def blank_tree(source: Path, target: Path, *, signatures: bool = False) -> None:
    """``source`` copied to ``target`` (replaced), its Python files' declarations blanked."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        text = path.read_text()
        blank = declaration_lines(text, signatures=signatures)
        kept = ["" if n in blank else line for n, line in enumerate(text.split("\n"), 1)]
        path.write_text("\n".join(kept))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call | ast.Subscript):
        return _name(node.func if isinstance(node, ast.Call) else node.value)
    return None


def _declares(node: ast.ClassDef) -> bool:
    return any(_name(d) == "dataclass" for d in node.decorator_list) or any(
        _name(base) in DECLARING_BASES for base in node.bases
    )


def _is_stub(statement: ast.stmt) -> bool:
    """A method with nothing but a docstring, ``...`` or ``pass``: a declaration."""
    if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    return all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in statement.body
    )


def _is_literal_table(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Call):
        return _name(value) == "Table"
    return isinstance(value, ast.Dict | ast.List | ast.Tuple | ast.Set)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(arguments) != 2:
        sys.exit(__doc__)
    blank_tree(Path(arguments[0]), Path(arguments[1]), signatures="--signatures" in sys.argv)
