"""Two sides of a ratio target measured interleaved (issue 26).

A ratio target (our awards against a bare INSERT loop; ingest with 100 dashboards against none)
measured as two separate runs compares two moments of a shared machine: at a load average of 2-3
the side measured in the busier minute loses, whatever the code does. Here the two sides take
turns in short rounds, pair by pair, the side that goes first alternating (A B, B A, A B, ...),
so that whatever load the machine has falls on both alike, and a steady drift cancels out. Each
pair gives a ratio (B over A); the target is decided on the median of those ratios, which one
disturbed pair cannot move.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

MIN_ROUNDS = 5

LoadAverage = tuple[float, float, float]


def a_goes_first(rounds: int) -> list[bool]:
    """For each pair, whether side A is measured first: alternating, A first in the first pair."""
    return [index % 2 == 0 for index in range(rounds)]


@dataclass(frozen=True)
class Interleaved:
    """Per-round figures of both sides (in round order) and the load average around them."""

    a: list[float]
    b: list[float]
    a_first: list[bool]
    load_start: LoadAverage
    load_end: LoadAverage

    @property
    def ratios(self) -> list[float]:
        """B over A, pair by pair (nan where A measured 0)."""
        return [b / a if a else math.nan for a, b in zip(self.a, self.b, strict=True)]

    @property
    def median_ratio(self) -> float:
        return _median(self.ratios)

    @property
    def a_median(self) -> float:
        return _median(self.a)

    @property
    def b_median(self) -> float:
        return _median(self.b)

    @property
    def order(self) -> str:
        """The order the sides ran in, e.g. ``AB BA AB``."""
        return " ".join("AB" if first else "BA" for first in self.a_first)


def interleave(
    a: Callable[[int], float],
    b: Callable[[int], float],
    rounds: int,
    *,
    loadavg: Callable[[], LoadAverage] = os.getloadavg,
) -> Interleaved:
    """Call ``a(round)`` and ``b(round)`` once per round, alternately (see
    :func:`a_goes_first`), and keep what each returned (a measured figure: a rate or a duration).

    Each callable does its own untimed preparation and clean-up around what it times, so that
    one side's leftovers (a backlog, a vacuum) are not counted against the other."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds}")
    load_start = loadavg()
    a_figures: list[float] = []
    b_figures: list[float] = []
    order = a_goes_first(rounds)
    for index, first in enumerate(order):
        if first:
            a_figures.append(a(index))
            b_figures.append(b(index))
        else:
            b_figures.append(b(index))
            a_figures.append(a(index))
    return Interleaved(a_figures, b_figures, order, load_start, loadavg())


def _median(values: Iterable[float]) -> float:
    known = [value for value in values if not math.isnan(value)]
    return statistics.median(known) if known else math.nan


def load_text(load: LoadAverage) -> str:
    """``1.23 1.10 0.95``: the 1-, 5- and 15-minute load averages."""
    return " ".join(f"{value:.2f}" for value in load)


def figures_text(values: Iterable[float], digits: int = 0) -> str:
    """Per-round figures, compactly: ``1,234 1,250 1,198``."""
    return " ".join("n/a" if math.isnan(v) else f"{v:,.{digits}f}" for v in values)
