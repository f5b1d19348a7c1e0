"""The boards' tie rule: equal amounts share the place of the first of them, shown "="."""

from __future__ import annotations

import pytest

from core.features.places import place_labels


@pytest.mark.parametrize(
    ("amounts", "after", "expected"),
    [
        ([], None, []),
        ([5], None, ["#1"]),
        ([20, 10, 10, 5], None, ["#1", "=2", "=2", "#4"]),
        ([7, 7, 7], None, ["=1", "=1", "=1"]),
        ([20, 10], 10, ["#1", "=2"]),  # tied with the first one past the board
        ([20, 10], 9, ["#1", "#2"]),
    ],
)
def test_equal_amounts_share_the_first_ones_place(amounts, after, expected) -> None:
    assert place_labels(amounts, after=after) == expected
