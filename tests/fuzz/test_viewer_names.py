"""Fuzz: a viewer's name as an admin types it to look them up (the dashboard's "Find a viewer",
``!watchtime <name>``, ``!pointsgive <name>``; core/features/viewers/search.py).

Property: anything typed is either no name (None) or a name of 1 to 64 characters without the
leading ``@`` and spaces, on Kick, Twitch or both; a platform is named only by its prefix, in
any case. Nothing else escapes.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.events import Platform
from core.features.viewers.search import MAX_NAME, name_query
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY

PREFIXES = ["", "@", "@ kick:", "kick:", "TWITCH:", "twitch: @", "youtube:", ":", "kick::", " @@"]
typed = st.one_of(
    st.text(max_size=90),
    st.tuples(st.sampled_from(PREFIXES), st.text(max_size=70)).map("".join),
    st.sampled_from([str(value) for value in NASTY]),
)


@given(typed)
def test_what_is_typed_names_one_viewer_or_nobody(text: str) -> None:
    query = name_query(text)
    if query is None:
        record("viewer-names", "nobody")
        return
    assert 1 <= len(query.name) <= MAX_NAME
    assert query.name == query.name.strip()
    assert not query.name.startswith("@")
    assert query.platforms in (tuple(Platform), (Platform.KICK,), (Platform.TWITCH,))
    prefix = text.strip().lstrip("@").strip().partition(":")[0].casefold()
    assert (len(query.platforms) == 1) == (prefix in {"kick", "twitch"} and ":" in text)
    record("viewer-names", "one platform" if len(query.platforms) == 1 else "both platforms")


@given(st.sampled_from(list(Platform)), st.from_regex(r"[A-Za-z0-9_]{1,25}", fullmatch=True))
def test_a_platform_before_a_name_asks_that_platform_only(platform: Platform, name: str) -> None:
    for written in (
        f"{platform}:{name}",
        f"@{str(platform).upper()}: @{name} ",
        f"{platform}:@{name}",
    ):
        query = name_query(written)
        assert query is not None, written
        assert (query.platforms, query.name) == ((platform,), name)
    assert name_query(f"  @{name}") is not None
    assert name_query(f"  @{name}").platforms == tuple(Platform)  # type: ignore[union-attr]
    record("viewer-names-prefixed", "parsed")
