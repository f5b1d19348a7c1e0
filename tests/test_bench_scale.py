"""benchmarks/scale*.py: the pure parts of the many-guilds bench (issue 26); no servers."""

from __future__ import annotations

import pytest

from benchmarks.scale import IntervalFigures, expected_counts
from benchmarks.scale_seed import guild_ids, hours_due, partition_shares
from benchmarks.scale_worker import Part, ProcessFigures, shared_out
from core.ownership.share import PARTITIONS


def test_guild_ids_are_valid_snowflakes_spread_evenly_over_the_partitions() -> None:
    for count in (1, 15, 16, 17, 100, 10_000):
        ids = guild_ids(count)
        assert len(set(ids)) == count
        assert all(0 < guild_id < 2**63 for guild_id in ids)
        shares = partition_shares(ids)
        assert sum(shares) == count
        assert max(shares) - min(shares) <= 1
    assert partition_shares(guild_ids(10_000)) == [625] * PARTITIONS


def test_one_viewer_in_sixty_crosses_an_hour() -> None:
    assert hours_due(60, 1) == 1
    assert hours_due(1, 60) == 1
    assert hours_due(60, 60) == 60
    # Per guild, v in 0..99 with v = -n (mod 60): two viewers for 40 residues in 60, else one.
    assert hours_due(10_000, 100) == 16_660


def test_what_the_interval_must_leave() -> None:
    expected = expected_counts(60, 20)
    assert expected["ticked"] == 60
    assert expected["credited"] == 1200
    # One guild in 30 closes its window at T: 2 guilds' 20 viewers, 30 minutes at 2 a minute.
    assert expected["posted"] == 40
    assert expected["points"] == 40 * 60
    # The others add the tick's minute to the 0 to 28 minutes of their window so far, each
    # minute count held by 2 guilds: 2 x 20 viewers x (1 + ... + 29) minutes x 120 units.
    assert expected["accrued"] == 2 * 20 * sum(range(1, 30)) * 120
    assert expected["tickets"] == 10 * expected["hour_rows"]
    assert expected["vip_handled"] == 120


def _leases(processes: int, partitions: list[str], jobs: list[str]) -> dict[str, str]:
    live = {f"process:p{i}": f"p{i}" for i in range(processes)}
    live |= {f"partition:{i}": holder for i, holder in enumerate(partitions)}
    live |= {f"job:j{i}": holder for i, holder in enumerate(jobs)}
    return live


def test_the_work_is_shared_out_when_everything_is_held_and_nobody_is_over_its_share() -> None:
    halves = ["p0"] * 8 + ["p1"] * 8
    assert shared_out(_leases(2, halves, ["p0", "p1", "p0"]), 2, 3)
    assert shared_out(_leases(1, ["p0"] * 16, ["p0"] * 3), 1, 3)
    # One process still holds everything: the other has not joined its share yet.
    assert not shared_out(_leases(2, ["p0"] * 16, ["p0", "p1", "p0"]), 2, 3)
    assert not shared_out(_leases(2, halves, ["p0", "p0", "p0"]), 2, 3)
    # A partition or a job nobody holds, or a process missing.
    assert not shared_out(_leases(2, halves[:15], ["p0", "p1", "p0"]), 2, 3)
    assert not shared_out(_leases(2, halves, ["p0", "p1"]), 2, 3)
    assert not shared_out(_leases(1, halves, ["p0", "p1", "p0"]), 2, 3)


def test_the_interval_runs_from_the_first_tick_to_the_last_job_in_any_process() -> None:
    first = ProcessFigures(0, guilds_ticked=500, tick=Part("tick", 10.0, 14.0, 0.05))
    first.after = [Part("points", 15.0, 40.0, 20.0)]
    second = ProcessFigures(1, guilds_ticked=500, tick=Part("tick", 10.5, 15.0, 0.3))
    figures = IntervalFigures(2, 1000, 100, bots=[first, second])

    assert figures.wall_seconds == 30.0
    assert figures.tick_wall_seconds == 5.0
    assert first.tick_cpu_ms_per_guild == pytest.approx(0.1)
    assert figures.worst_cpu_ms_per_guild == second.tick_cpu_ms_per_guild
    assert second.tick_cpu_ms_per_guild == pytest.approx(0.6)
    assert not figures.meets_cpu
    assert not figures.inside_interval  # two processes: 20 s at most
    assert IntervalFigures(1, 1000, 100, bots=[first, second]).inside_interval  # one: 30 s
