"""What the partner-reply fuzz targets share (``test_kick_api_replies.py`` and the Twitch,
StreamElements and drand relay ones beside it): reply bodies as a partner could send them, a real
reply edited, and one call of a client against a body it gets back through
``httpx.MockTransport`` (no socket: thousands of examples a second).

A body is bytes, as it comes off the wire: JSON that Python's own reader would take although
JSON does not (``NaN``, ``Infinity``, ``1e999``), numbers past any machine word (``10**400``),
text with NULs, lone surrogates (as ``\\ud800`` escapes) or 100,000 characters, nesting
thousands deep, and bytes that are no text at all.
"""

from __future__ import annotations

import asyncio
import copy as copying
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from hypothesis import strategies as st

from tests.fuzz.strategies import json_values, paths_of, set_at

T = TypeVar("T")

# Values a reply's field may hold besides tests/fuzz/strategies.py's: each of these has broken a
# parser somewhere (a float's range, str() of a long int, a list where text was expected).
ODD_VALUES: list[Any] = [
    10**400,
    -(10**400),
    2**64,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
    "x" * 100_000,
    "\ud800" * 3,
    "a\x00" * 50,
    ["x" * 5000],
    {"x": "y" * 5000},
    [[[[[]]]]],
    "2025-01-14T16:08:06Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "1e999",
    "-1",
    "0",
]
field_values = st.one_of(json_values, st.sampled_from(ODD_VALUES))
# Raw JSON text that json.dumps never writes.
RAW_BODIES: list[bytes] = [
    b"",
    b"null",
    b"NaN",
    b'{"data": Infinity}',
    b'{"data": [1e999]}',
    b'{"data": -1e999}',
    b"[" * 5000 + b"]" * 5000,
    b'{"data":' * 3000 + b"1" + b"}" * 3000,
    b'{"data": ' + b"9" * 5000 + b"}",
    b'{"data": "\\ud800\\u0000"}',
    b"\xff\xfe\x00",
    b"<html>502 Bad Gateway</html>",
]


def copy_of(value: Any) -> Any:
    """A value of :data:`ODD_VALUES` may be edited where it is put: never the shared one."""
    return copying.deepcopy(value)


def body_of(value: Any) -> bytes:
    """``value`` as a partner could send it (``NaN`` and ``Infinity`` as Python writes them)."""
    try:
        return json.dumps(value).encode("utf-8", "surrogatepass")
    except ValueError:  # an int past str()'s 4,300 digits
        return b'{"data": ' + b"9" * 5000 + b"}"


def any_bodies(*documents: Any) -> st.SearchStrategy[bytes]:
    """Any reply body: JSON of any shape, raw text and bytes, and ``documents`` edited."""
    strategies = [
        st.sampled_from(RAW_BODIES),
        st.binary(max_size=200),
        field_values.map(body_of),
        st.dictionaries(st.sampled_from(["data", "message", "pagination"]), field_values).map(
            body_of
        ),
    ]
    if documents:  # half of the bodies: the real replies edited
        real = st.sampled_from(documents)
        strategies += [edited(real).map(body_of)] * len(strategies)
    return st.one_of(*strategies)


def edits_of(document: Any, max_changes: int = 2) -> st.SearchStrategy[bytes]:
    """``document`` with one or two fields changed: a reply most of whose checks pass, so that
    the later ones are reached."""
    return edited(st.just(document), max_changes).map(body_of)


@st.composite
def edited(draw: st.DrawFn, documents: st.SearchStrategy[Any], max_changes: int = 4) -> Any:
    """A real reply with up to ``max_changes`` fields removed, retyped or replaced: what a
    partner's next version, or a broken proxy, could send."""
    copy = json.loads(json.dumps(draw(documents)))
    for _ in range(draw(st.integers(1, max_changes))):
        paths = paths_of(copy)[1:] or [()]
        path = draw(st.sampled_from(paths))
        change = draw(st.sampled_from(["remove", "replace", "wrap", "text", "null"]))
        if change == "remove" and path:
            parent: Any = copy
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
            continue
        old: Any = copy
        for key in path:
            old = old[key]
        if change == "replace":
            new = copy_of(draw(field_values))
        elif change == "wrap":
            new = [old]
        elif change == "text":
            new = json.dumps(old)
        else:
            new = None
        copy = set_at(copy, path, new)
    return copy


def answered(
    status: int,
    body: bytes,
    call: Callable[[httpx.AsyncClient], Awaitable[T]],
    headers: Mapping[str, str] | None = None,
) -> T:
    """What ``call(http)`` gives when every request it makes is answered ``status`` with
    ``body``; its exception raised as it is."""

    # Header values travel as latin-1 bytes; httpx would encode a str one as ASCII.
    raw = [(name.encode(), value.encode("latin-1")) for name, value in (headers or {}).items()]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=raw)

    async def run() -> T:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await call(http)

    return asyncio.run(run())


async def no_sleep(seconds: float) -> None:
    """Backoff waits made instantly: a fuzz example never waits for a retry."""


def is_printable_ascii(text: str) -> bool:
    """What an HTTP header and a query string take as they are: printable ASCII, no spaces."""
    return text.isascii() and text.isprintable() and " " not in text


__all__ = [
    "ODD_VALUES",
    "RAW_BODIES",
    "answered",
    "any_bodies",
    "body_of",
    "edited",
    "edits_of",
    "field_values",
    "is_printable_ascii",
    "no_sleep",
]
