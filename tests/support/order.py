"""The order the suite hands its tests to pytest-xdist, so that every worker and both cores stay
busy to the end (``tests/conftest.py`` applies it to the collected items).

pytest-xdist's ``worksteal`` hands each worker one contiguous share of the list, and an idle
worker then takes the second half of the longest queue left. Three kinds of tests matter:

- **Waiting tests** (the kill -9 durability runs, the slow partners): a minute or so each, most
  of it waiting on processes and real time, so a worker running one leaves the cores to the
  others. If every worker waits at once the cores idle; if one starts late, its worker runs on
  alone after the others have finished. They are planned on ``workers // 2``
  lanes (more if they would not fit in the first ``SPREAD`` of the run), one after another in
  each lane (the longest first), each on a worker not waiting then, and placed in that
  worker's share at the moment the plan gives it.
- **Other slow tests** (the browser, ``python -m core`` processes): whole files (a module's
  browser is one launch), each to the share with the least so far, spread over the first
  ``SPREAD`` of the share.
- **Fast tests**: the rest, in order; the end of every share is fast tests only, what an idle
  worker takes over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

# Rough lengths in seconds of the waiting tests, by file (a busy machine stretches them all).
WAITING_SECONDS = {
    "test_durability_takeovers.py": 70.0,
    "test_durability.py": 60.0,
    "test_durability_vip_rates.py": 45.0,
    "test_durability_locks.py": 36.0,
    "test_slow_partner.py": 16.0,
}
WAITING_FILES = ("test_durability", "test_slow_partner")
OTHER_WAITING_SECONDS = 15.0
BROWSER_SECONDS, PROCESS_SECONDS, FAST_SECONDS = 2.0, 3.0, 0.15
SPREAD = 0.7  # the part of a share over which its slow tests go; the rest is fast tests


class Item(Protocol):
    path: Path

    @property
    def name(self) -> str: ...

    def get_closest_marker(self, name: str) -> object: ...


T = TypeVar("T", bound=Item)


def is_waiting(item: Item) -> bool:
    return bool(item.get_closest_marker("slow")) and item.path.name.startswith(WAITING_FILES)


def expected_seconds(item: Item) -> float:
    if is_waiting(item):
        return WAITING_SECONDS.get(item.path.name, OTHER_WAITING_SECONDS)
    if not item.get_closest_marker("slow"):
        return FAST_SECONDS
    return BROWSER_SECONDS if item.get_closest_marker("browser") else PROCESS_SECONDS


def spread_the_slow_ones(items: Sequence[T], workers: int) -> list[T]:
    """``items`` in the order described above, for ``workers`` workers."""
    waiting: list[list[T]] = []
    files: dict[Path, list[T]] = {}
    fast: list[T] = []
    for item in items:
        if is_waiting(item):
            waiting.append([item])  # one by one: none shares a module's fixture
        elif item.get_closest_marker("slow"):
            files.setdefault(item.path, []).append(item)
        else:
            fast.append(item)

    def length(group: list[T]) -> float:
        return sum(map(expected_seconds, group))

    run = sum(map(expected_seconds, items)) / workers  # how long each worker's share takes
    loads = [0.0] * workers
    places: list[list[tuple[float, list[T]]]] = [[] for _ in range(workers)]
    # Half the workers wait at once, more only if the waiting tests would not fit otherwise.
    room = math.ceil(sum(map(length, waiting)) / (SPREAD * run)) if waiting else 1
    lanes = [0.0] * min(workers, max(1, workers // 2, room))  # when each lane's last one ends
    waits: list[list[tuple[float, float]]] = [[] for _ in range(workers)]
    for group in sorted(waiting, key=lambda g: -length(g)):
        lane = lanes.index(min(lanes))
        start, end = lanes[lane], lanes[lane] + length(group)
        lanes[lane] = end
        free = [w for w in range(workers) if all(e <= start or s >= end for s, e in waits[w])]
        worker = min(free or range(workers), key=lambda w: loads[w])
        waits[worker].append((start, end))
        loads[worker] += length(group)
        places[worker].append((min(start, SPREAD * run), group))
    others: list[list[list[T]]] = [[] for _ in range(workers)]
    for group in sorted(files.values(), key=lambda g: -length(g)):
        worker = loads.index(min(loads))
        others[worker].append(group)
        loads[worker] += length(group)
    for worker, groups in enumerate(others):
        places[worker] += [(SPREAD * run * n / len(groups), g) for n, g in enumerate(groups)]

    # Cut the fast tests into the sizes xdist will hand out, and place each share's groups.
    start = 0
    ordered: list[T] = []
    for worker in range(workers):
        size = (len(items) - len(ordered)) // (workers - worker)
        placed = sum(len(group) for _, group in places[worker])
        take = max(0, size - placed)
        ordered += _placed(places[worker], fast[start : start + take])
        start += take
    return ordered + fast[start:]


def _placed(places: list[tuple[float, list[T]]], fast: list[T]) -> list[T]:
    """``fast`` with each group where the share's expected clock reaches the group's second."""
    result: list[T] = []
    clock, taken = 0.0, 0
    for at, group in sorted(places, key=lambda place: place[0]):
        while taken < len(fast) and clock < at:
            result.append(fast[taken])
            clock += expected_seconds(fast[taken])
            taken += 1
        result += group
        clock += sum(map(expected_seconds, group))
    return result + fast[taken:]
