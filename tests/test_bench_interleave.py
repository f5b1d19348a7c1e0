"""benchmarks/interleave.py: two sides of a ratio target taken in turns (issue 26)."""

from __future__ import annotations

import math

import pytest

from benchmarks.interleave import (
    a_goes_first,
    figures_text,
    interleave,
    load_text,
)


def _loads(*readings: tuple[float, float, float]):
    remaining = list(readings)
    return lambda: remaining.pop(0)


def test_the_sides_take_turns_and_neither_always_goes_first() -> None:
    calls: list[str] = []

    def side(name: str):
        def measure(round_index: int) -> float:
            calls.append(f"{name}{round_index}")
            return 1.0

        return measure

    found = interleave(side("a"), side("b"), 5, loadavg=_loads((0, 0, 0), (0, 0, 0)))

    assert calls == ["a0", "b0", "b1", "a1", "a2", "b2", "b3", "a3", "a4", "b4"]
    assert found.order == "AB BA AB BA AB"
    assert a_goes_first(4) == [True, False, True, False]


def test_each_side_keeps_its_figures_in_round_order() -> None:
    found = interleave(
        lambda i: 100.0 + i, lambda i: 200.0 + i, 3, loadavg=_loads((0, 0, 0), (0, 0, 0))
    )

    assert found.a == [100.0, 101.0, 102.0]
    assert found.b == [200.0, 201.0, 202.0]
    assert found.a_median == 101.0
    assert found.b_median == 201.0


def test_the_ratio_is_taken_pair_by_pair_and_its_median_ignores_one_disturbed_pair() -> None:
    # A slow machine in rounds 1 and 2 slows both sides alike; round 3's B alone was disturbed.
    a_figures = [1000.0, 500.0, 400.0, 1000.0, 1000.0]
    b_figures = [900.0, 450.0, 360.0, 300.0, 900.0]

    found = interleave(
        lambda i: a_figures[i],
        lambda i: b_figures[i],
        5,
        loadavg=_loads((0, 0, 0), (0, 0, 0)),
    )

    assert found.ratios == pytest.approx([0.9, 0.9, 0.9, 0.3, 0.9])
    assert found.median_ratio == pytest.approx(0.9)
    # Each side's median alone mixes the slow rounds of one side with the fast ones of the
    # other: here half the true ratio.
    assert found.b_median / found.a_median == pytest.approx(0.45)


def test_a_zero_on_side_a_gives_no_ratio_for_that_pair() -> None:
    found = interleave(
        lambda i: [0.0, 2.0, 4.0][i], lambda i: 1.0, 3, loadavg=_loads((0, 0, 0), (0, 0, 0))
    )

    assert math.isnan(found.ratios[0])
    assert found.median_ratio == pytest.approx(0.375)  # median of 0.5 and 0.25


def test_the_load_average_is_read_at_the_start_and_at_the_end() -> None:
    found = interleave(
        lambda i: 1.0, lambda i: 1.0, 5, loadavg=_loads((2.5, 2.0, 1.5), (3.0, 2.25, 1.6))
    )

    assert found.load_start == (2.5, 2.0, 1.5)
    assert found.load_end == (3.0, 2.25, 1.6)
    assert load_text(found.load_end) == "3.00 2.25 1.60"


def test_at_least_one_round() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        interleave(lambda i: 1.0, lambda i: 1.0, 0)


def test_figures_text() -> None:
    assert figures_text([1234.4, 987.6, math.nan]) == "1,234 988 n/a"
    assert figures_text([0.0123], digits=3) == "0.012"
