"""How ``make bench`` prints: lines, numbers, PASS/MISS and the report of every target."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from typing import Any


def say(text: str = "") -> None:
    print(text, flush=True)


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


class Report:
    """Collects the figures, the targets and what broke."""

    def __init__(self) -> None:
        self.targets: list[tuple[str, str, bool]] = []
        self.problems: list[str] = []
        self.others: list[float] = []  # share of the CPUs used by other processes, per run

    def target(self, what: str, measured: str, met: bool) -> None:
        self.targets.append((what, measured, met))

    def guard(self, part: str, action: Callable[[], Any]) -> Any:
        """Run one part; a crash is reported (and fails the run) without stopping the rest."""
        try:
            return action()
        except Exception as exc:
            traceback.print_exc()
            self.problems.append(f"{part} crashed: {type(exc).__name__}: {exc}")
            return None
