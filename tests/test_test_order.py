"""The order the suite hands its tests to pytest-xdist (tests/conftest.py): every worker's share
starts with its part of the slow tests, whole files together, and no test is lost or doubled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import _spread_the_slow_ones


@dataclass(eq=False)
class _Item:
    path: Path
    name: str
    markers: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None


def _items() -> list[_Item]:
    items = [_Item(Path(f"tests/test_fast_{n // 10}.py"), f"fast{n}") for n in range(400)]
    items += [_Item(Path("tests/test_durability.py"), f"kill{n}", {"slow"}) for n in range(2)]
    items += [
        _Item(Path(f"tests/web/browser/test_page_{n // 3}.py"), f"page{n}", {"slow", "browser"})
        for n in range(12)
    ]
    items += [_Item(Path(f"tests/test_cli_{n // 2}.py"), f"cli{n}", {"slow"}) for n in range(10)]
    return items


def _shares(ordered: list[_Item], workers: int) -> list[list[_Item]]:
    """Cut as xdist's worksteal cuts its first hand-out."""
    shares, rest = [], list(ordered)
    for index in range(workers):
        size = len(rest) // (workers - index)
        shares.append(rest[:size])
        rest = rest[size:]
    return shares


def test_every_test_is_handed_out_once():
    items = _items()
    for workers in (1, 2, 4, 6):
        ordered = _spread_the_slow_ones(items, workers)
        assert sorted(map(id, ordered)) == sorted(map(id, items))


def test_each_share_starts_with_slow_tests_and_a_file_stays_in_one_share():
    shares = _shares(_spread_the_slow_ones(_items(), 4), 4)
    for share in shares:
        assert share[0].get_closest_marker("slow")
        kinds = [bool(item.get_closest_marker("slow")) for item in share]
        assert kinds == sorted(kinds, reverse=True)  # slow ones first, then fast ones
    owners = {item.path: n for n, share in enumerate(shares) for item in share}
    for n, share in enumerate(shares):
        assert all(owners[item.path] == n for item in share if item.get_closest_marker("slow"))
    # The file with both kill runs (the longest) shares its worker with the fewest others.
    durability = next(s for s in shares if s[0].path.name == "test_durability.py")
    assert sum(bool(item.get_closest_marker("slow")) for item in durability) == 2


def test_one_worker_runs_the_slow_tests_first():
    ordered = _spread_the_slow_ones(_items(), 1)
    slow = [bool(item.get_closest_marker("slow")) for item in ordered]
    assert slow == [True] * 24 + [False] * 400
