"""``same_secret``: any text a request brings is compared, never raised on (fuzzed)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.security.compare import same_secret

KEPT = "Zm9vYmFy-token_0123456789"


@given(st.text())
def test_any_text_is_an_answer_never_an_error(given_text: str) -> None:
    assert same_secret(KEPT, given_text) is (given_text == KEPT)


def test_only_the_same_non_empty_text_matches() -> None:
    assert same_secret(KEPT, KEPT)
    assert not same_secret(KEPT, KEPT + " ")
    assert not same_secret(KEPT, "\ud800")  # a lone surrogate: no UnicodeEncodeError
    assert not same_secret(KEPT, "é")
    assert not same_secret("", "")
    assert not same_secret(KEPT, None)
    assert not same_secret(KEPT, 42)
