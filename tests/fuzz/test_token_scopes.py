"""Fuzz: the ``scope`` of a token reply as Kick's and Twitch's OAuth clients read it
(``_split_scopes`` in core/platforms/kick/oauth_client.py, ``_scopes`` in the Twitch one, both
through ``bounded_scopes`` in core/platforms/tokens.py): 100,000 names, names of any length, NUL
and lone surrogates, numbers, lists and objects where a string goes.

Property: reading a reply never raises; the scopes are at most 100 printable names of at most
100 characters, so they can be joined and stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from core.platforms.kick.oauth_client import _split_scopes
from core.platforms.oauth import parse_token_set
from core.platforms.tokens import MAX_SCOPE_CHARS, MAX_SCOPES
from core.platforms.twitch.oauth_client import _scopes as twitch_scopes
from tests.fuzz.conftest import record
from tests.fuzz.strategies import json_values, scalars

NOW = datetime(2030, 1, 1, tzinfo=UTC)
names = st.one_of(
    st.sampled_from(["user:read", "chat:write", "\x00", "\ud800", "a\u200bb", "x" * 500]),
    st.text(max_size=150),
)
many = st.tuples(st.sampled_from(["s", "user:read", "\ud800"]), st.integers(0, 100_000))
scopes = st.one_of(
    st.lists(names, max_size=120).map(" ".join),
    many.map(lambda pair: " ".join([pair[0]] * pair[1])),
    st.lists(st.one_of(names, scalars), max_size=120),
    json_values,
)


def assert_bounded(read: tuple[str, ...]) -> None:
    assert type(read) is tuple
    assert len(read) <= MAX_SCOPES
    for name in read:
        assert type(name) is str
        assert 0 < len(name) <= MAX_SCOPE_CHARS
        assert name.isprintable()
    " ".join(read).encode()


@given(scopes)
@example("s " * 100_000)
@example(["user:read\x00", "\ud800", 7, None, "x" * 500])
def test_scopes_are_at_most_100_printable_names_of_100_characters(scope: object) -> None:
    body = {"access_token": "a", "expires_in": 3600, "scope": scope}
    kick = parse_token_set(body, now=NOW, scopes=_split_scopes, default_type="Bearer")
    assert kick is not None
    assert_bounded(kick.scopes)
    assert_bounded(twitch_scopes(scope))
    count = len(kick.scopes)
    record("token-scopes", "none" if not count else "capped" if count == MAX_SCOPES else "some")
