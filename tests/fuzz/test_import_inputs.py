"""Fuzz: what the importers read from outside. A StreamElements leaderboard page (any bytes,
JSON of any shape, or a well-formed page with hostile entries), a JWT file's bytes, and the Kick
names of another bot's rows.

Properties: the page reader returns entries that are valid logins with whole numbers, or
refuses with :class:`StreamElementsRefused`, never anything else; a JWT is one printable token
or an :class:`ImportProblem`; a name's slugs are Kick-sized lower-case text.
"""

from __future__ import annotations

import json

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from core.features.importers.errors import ImportProblem
from core.features.importers.kick_names import fold, slugs_of
from core.features.importers.se_points import read_jwt
from core.platforms.streamelements.api import USERNAME, StreamElementsRefused, _leaderboard
from tests.fuzz.conftest import record

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "username": st.from_regex(r"[A-Za-z0-9_]{1,25}", fullmatch=True)
        | st.text(max_size=30)
        | JSON,
        "points": st.integers() | st.floats(allow_nan=False) | st.text(max_size=12) | JSON,
    },
)


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return json.dumps(draw(JSON)).encode()
    page = {"_total": draw(st.integers() | JSON), "users": draw(st.lists(ENTRY, max_size=8))}
    return json.dumps(page).encode()


@given(pages())
def test_a_leaderboard_page_is_read_or_refused(body: bytes) -> None:
    response = httpx.Response(200, content=body)
    try:
        total, entries = _leaderboard(response)
    except StreamElementsRefused:
        record("se-leaderboard-page", "refused")
        return
    assert isinstance(total, int)
    for name, points in entries:
        assert USERNAME.fullmatch(name)
        assert isinstance(points, int)
    record("se-leaderboard-page", "read" if entries else "read, empty")


@given(st.binary(max_size=200))
def test_a_jwt_file_is_one_token_or_refused(tmp_path_factory, content: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("jwt") / "jwt"
    path.write_bytes(content)
    try:
        jwt = read_jwt(str(path))
    except ImportProblem as exc:
        problem = str(exc)
        record("jwt-file", "refused")
        assert "\n" not in problem
        return
    assert jwt
    assert all(ch.isprintable() and not ch.isspace() for ch in jwt)
    record("jwt-file", "read")


@given(st.text(max_size=60))
@example("@\r0")  # a space after the @ once folded to "\r0", and "\r0" to "0"
@example("@ @Name ")
def test_a_names_slugs_are_kick_sized(name: str) -> None:
    slugs = slugs_of(name)
    for slug in slugs:
        assert 0 < len(slug) <= 25
        assert slug == fold(slug)
    record("kick-name-slugs", f"{len(slugs)} slugs")
