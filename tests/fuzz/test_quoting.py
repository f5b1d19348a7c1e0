"""Fuzz: a value quoted for a problem line (``shown``) and a report line (``one_line``) are
each one printable line of bounded length, whatever the text; short text reads back as itself."""

from __future__ import annotations

import ast

from hypothesis import example, given
from hypothesis import strategies as st

from core.features.quoting import LINE, SHOWN, one_line, shown

# repr writes one character as at most 10 ("\U0010ffff"); then the quotes and the length.
LONGEST = 10 * SHOWN + len("''... (999,999,999 characters)")


@given(st.text(max_size=200))
@example("a\nb\x1b[2J\u2028\x00")
@example("x" * (SHOWN + 1))
@example("\U0010ffff" * 1000)
def test_a_quoted_value_is_one_bounded_line(text: str) -> None:
    quoted = shown(text)
    assert quoted.isprintable()  # no line break, escape or control character
    assert len(quoted) <= LONGEST
    if len(text) <= SHOWN:
        assert ast.literal_eval(quoted) == text
    else:
        assert ast.literal_eval(quoted[: quoted.index("... (")]) == text[:SHOWN]
        assert quoted.endswith(f"({len(text):,} characters)")


@given(st.text(max_size=1200))
@example("- fake: match\n\x1b]0;title\x07")
@example("\u2028" * 600)
def test_a_report_line_is_one_bounded_printable_line(text: str) -> None:
    line = one_line(text)
    assert line.isprintable()
    assert len(line) <= 10 * LINE + len("... (999,999,999 characters)")
    if text.isprintable() and len(text) <= LINE:
        assert line == text  # an ordinary line is printed as it is
    if len(text) > LINE:
        assert line.endswith(f"... ({len(text):,} characters)")
