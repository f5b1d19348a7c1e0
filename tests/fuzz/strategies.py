"""Hostile values for the fuzz targets: what a JSON body, a header or a chat line can hold."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.conftest import FIXTURES

# Values known to have broken parsing or storage once, and their neighbours.
NASTY: list[Any] = [
    "\ud800",
    "\udfff",
    "\x00",
    "a\x00b",
    "x" * 64,
    "x" * 65,
    "x" * 300,
    "9" * 40,
    1e308,
    -1e308,
    10**40,
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    0.5,
    "",
    " ",
    "é",
    "😀",
    "\u202e",
    "<@&123456789012345678>",
    "@everyone",
    "1e308",
    "NaN",
    "Infinity",
]

scalars = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=80),
    st.text(max_size=400),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
# Header values travel as latin-1 over HTTP: anything else cannot even be sent.
header_text = st.one_of(
    st.sampled_from(["", " ", "x" * 65, "x" * 300, "01 SPACE", "é", "\x7f", "\t"]),
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=120),
)


def kick_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "kick" / f"{name}.json").read_text())


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (to a dict key or a list index), the value's own first."""
    found: list[tuple[Any, ...]] = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*prefix, index))
    return found


def set_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``document`` with the value at ``path`` replaced (the document itself for ``()``)."""
    if not path:
        return value
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


@st.composite
def mutated(draw: st.DrawFn, document: Any, *, max_changes: int = 3) -> Any:
    """A deep copy of ``document`` with up to ``max_changes`` values replaced by hostile ones."""
    copy = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(0, max_changes))):
        paths = paths_of(copy)[1:] or [()]
        path = draw(st.sampled_from(paths))
        copy = set_at(copy, path, draw(json_values))
    return copy
