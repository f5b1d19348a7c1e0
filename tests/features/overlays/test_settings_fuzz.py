"""The overlay settings' readers never fail with anything but a refusal, and what they accept
is what they promise."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from core.features.overlays.settings import (
    ALERT_SECONDS,
    MAX_MILESTONES,
    OverlayRefused,
    parse_colour,
    parse_milestones,
    parse_seconds,
)


@given(st.text(max_size=80))
def test_colour_is_hex_or_refused(text):
    try:
        colour = parse_colour(text)
    except OverlayRefused:
        return
    assert re.fullmatch(r"#[0-9a-f]{6}", colour)


@given(st.text(max_size=12))
def test_seconds_are_in_range_or_refused(text):
    try:
        seconds = parse_seconds(text)
    except OverlayRefused:
        return
    assert ALERT_SECONDS[0] <= seconds <= ALERT_SECONDS[1]


@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(st.integers(-5, 2_000_000_000)).map(lambda xs: ", ".join(map(str, xs))),
    )
)
def test_milestones_are_sorted_positive_and_few_or_refused(text):
    try:
        found = parse_milestones(text)
    except OverlayRefused:
        return
    assert list(found) == sorted(set(found))
    assert len(found) <= MAX_MILESTONES
    assert all(1 <= m <= 1_000_000_000 for m in found)
