"""What the partner-reply fuzz targets share (``test_kick_api_replies.py`` and the Twitch,
StreamElements and drand relay ones beside it): reply bodies as a partner could send them, a real
reply edited, and one call of a client against a body it gets back through
``httpx.MockTransport`` (no socket: thousands of examples a second), with what every client's
refusal and every token a partner hands us must be (:class:`FuzzedClient`,
:func:`assert_words`, :func:`assert_usable`).

A body is bytes, as it comes off the wire: JSON that Python's own reader would take although
JSON does not (``NaN``, ``Infinity``, ``1e999``), numbers past any machine word (``10**400``),
text with NULs, lone surrogates (as ``\\ud800`` escapes) or 100,000 characters, nesting
thousands deep, and bytes that are no text at all.
"""

from __future__ import annotations

import asyncio
import copy as copying
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from hypothesis import strategies as st

from core.platforms.tokens import MAX_SCOPE_CHARS, MAX_SCOPES, TokenSet
from tests.fuzz.conftest import record
from tests.fuzz.strategies import json_values, paths_of, set_at
from tests.platforms.bounded import assert_within

T = TypeVar("T")
C = TypeVar("C")
E = TypeVar("E", bound=Exception)

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
        # Streamed as a network's answer is (a body held to a size is read raw).
        return httpx.Response(status, stream=httpx.ByteStream(body), headers=raw)

    async def run() -> T:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await call(http)

    return asyncio.run(run())


class _Refused:
    def __repr__(self) -> str:
        return "REFUSED"


REFUSED: Any = _Refused()


@dataclass(frozen=True)
class FuzzedClient(Generic[C, E]):
    """A partner's client under test: how it is made on an ``httpx.AsyncClient`` (``make``),
    the error it refuses a reply with (``refusal``) and what that error must be
    (``assert_refusal``)."""

    make: Callable[[httpx.AsyncClient], C]
    refusal: type[E]
    assert_refusal: Callable[[E], object]

    def answered(
        self,
        status: int,
        body: bytes,
        call: Callable[[C], Awaitable[T]],
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """What ``call(client)`` gives when every request is answered ``status`` with
        ``body`` (:func:`answered`); its exception raised as it is."""
        return answered(status, body, lambda http: call(self.make(http)), headers)

    def read(self, target: str, status: int, body: bytes, call: Callable[[C], Awaitable[T]]) -> T:
        """:meth:`answered`, or :data:`REFUSED` when the call raised :attr:`refusal`: that
        error passed :attr:`assert_refusal` and the example is recorded under ``target`` as
        "refused". Any other exception is raised as it is: a failure."""
        try:
            return self.answered(status, body, call)
        except self.refusal as exc:
            self.assert_refusal(exc)
            record(target, "refused")
            return REFUSED


def assert_words(
    error: Exception, *words: str, limit: int = 300, secrets: Iterable[str] = ()
) -> None:
    """A refusal as a log line and a reply show it: each of ``words`` 1 to ``limit``
    characters of storable text, and none of ``secrets`` anywhere in the error."""
    for text in words:
        assert 0 < len(text) <= limit
        assert_within(text, storable=True)
    for secret in secrets:
        assert secret not in str(error)


def assert_usable(tokens: TokenSet) -> None:
    """Tokens a partner's OAuth server handed us: each one sent as "Authorization: Bearer
    <token>" (httpx takes ASCII only) and stored encrypted (as UTF-8), the scopes and type
    bounded and storable."""
    for token in (tokens.access_token, tokens.refresh_token):
        if token is not None:
            assert httpx.Headers({"Authorization": f"Bearer {token}"})["Authorization"]
            assert token.isascii()
            assert token.isprintable()
    assert len(tokens.scopes) <= MAX_SCOPES
    assert_within((tokens.scopes, tokens.token_type), text_max=MAX_SCOPE_CHARS, storable=True)


async def no_sleep(seconds: float) -> None:
    """Backoff waits made instantly: a fuzz example never waits for a retry."""


def is_printable_ascii(text: str) -> bool:
    """What an HTTP header and a query string take as they are: printable ASCII, no spaces."""
    return text.isascii() and text.isprintable() and " " not in text


__all__ = [
    "ODD_VALUES",
    "RAW_BODIES",
    "REFUSED",
    "FuzzedClient",
    "answered",
    "any_bodies",
    "assert_usable",
    "assert_words",
    "body_of",
    "edited",
    "edits_of",
    "field_values",
    "is_printable_ascii",
    "no_sleep",
]
