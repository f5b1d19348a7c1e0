"""The order the suite hands its tests to pytest-xdist (tests/support/order.py): no test lost or
doubled; a file's slow tests together in one share; the waiting tests planned so that at most
half the workers wait at once, none of them late in its share; fast tests at every share's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.support.order import SPREAD, expected_seconds, is_waiting, spread_the_slow_ones


@dataclass(eq=False)
class _Item:
    path: Path
    name: str
    markers: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None


def _items() -> list[_Item]:
    items = [_Item(Path(f"tests/test_fast_{n // 10}.py"), f"fast{n}") for n in range(6000)]
    items += [_Item(Path("tests/test_durability.py"), f"kill{n}", {"slow"}) for n in range(2)]
    items += [
        _Item(Path(f"tests/web/browser/test_page_{n // 3}.py"), f"page{n}", {"slow", "browser"})
        for n in range(12)
    ]
    items += [_Item(Path(f"tests/test_cli_{n // 2}.py"), f"cli{n}", {"slow"}) for n in range(10)]
    items += [_Item(Path("tests/test_slow_partner.py"), f"hang{n}", {"slow"}) for n in range(4)]
    takeovers = Path("tests/test_durability_takeovers.py")
    items += [_Item(takeovers, f"take{n}", {"slow"}) for n in (2, 3)]
    items += [_Item(Path("tests/test_durability_locks.py"), "locks", {"slow"})]
    return items


def _shares(ordered: list[_Item], workers: int) -> list[list[_Item]]:
    """Cut as xdist's worksteal cuts its first hand-out."""
    shares, rest = [], list(ordered)
    for index in range(workers):
        size = len(rest) // (workers - index)
        shares.append(rest[:size])
        rest = rest[size:]
    return shares


def _slow(item: _Item) -> bool:
    return bool(item.get_closest_marker("slow"))


def test_every_test_is_handed_out_once():
    items = _items()
    for workers in (1, 2, 4, 6):
        ordered = spread_the_slow_ones(items, workers)
        assert sorted(map(id, ordered)) == sorted(map(id, items))


def test_a_files_slow_tests_stay_together_in_one_share():
    """A module's fixtures (a browser) are set up once; the waiting tests are the exception."""
    shares = _shares(spread_the_slow_ones(_items(), 4), 4)
    kept = [[item for item in share if _slow(item) and not is_waiting(item)] for share in shares]
    owners = {item.path: n for n, share in enumerate(kept) for item in share}
    for n, share in enumerate(kept):
        assert all(owners[item.path] == n for item in share)
        slow_paths = [item.path for item in share]
        runs = [path for i, path in enumerate(slow_paths) if i == 0 or path != slow_paths[i - 1]]
        assert len(runs) == len(set(runs))  # a file's slow tests one after another


def _waiting_spans(share: list[_Item], run: float) -> list[tuple[float, float]]:
    """Each waiting test's expected start and end, in seconds, in its share (its place among
    the share's tests, scaled to the run's length)."""
    spans, clock = [], 0.0
    for item in share:
        if is_waiting(item):
            spans.append((clock, clock + expected_seconds(item)))
        clock += expected_seconds(item)
    return spans


def test_at_most_half_the_workers_wait_at_once_and_none_starts_late():
    items = _items()
    workers = 4
    shares = _shares(spread_the_slow_ones(items, workers), workers)
    run = sum(map(expected_seconds, items)) / workers
    spans = [span for share in shares for span in _waiting_spans(share, run)]
    assert len(spans) == 9
    assert len({n for n, share in enumerate(shares) if any(map(is_waiting, share))}) >= 3
    for start, _end in spans:
        at_once = sum(s <= start < e for s, e in spans)
        assert at_once <= workers // 2 + 1, (start, spans)  # the plan's two, give or take one
    for share in shares:
        waits = [i for i, item in enumerate(share) if is_waiting(item)]
        assert not waits or waits[-1] <= SPREAD * len(share) + 3


def test_every_share_ends_with_fast_tests_that_an_idle_worker_can_take():
    for workers in (2, 4):
        for share in _shares(spread_the_slow_ones(_items(), workers), workers):
            last_slow = max(i for i, item in enumerate(share) if _slow(item))
            fast_after = len(share) - 1 - last_slow
            assert fast_after >= (1 - SPREAD) * sum(not _slow(i) for i in share) - 3


def test_one_worker_spreads_the_slow_tests_over_its_first_part():
    ordered = spread_the_slow_ones(_items(), 1)
    assert _slow(ordered[0])
    positions = [i for i, item in enumerate(ordered) if _slow(item)]
    assert positions[-1] < SPREAD * len(ordered) + 30  # then fast tests to the end
    assert not all(map(_slow, ordered[: len(positions)]))  # not all at the front
