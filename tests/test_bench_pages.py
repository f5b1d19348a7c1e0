"""benchmarks/pages.py at a tiny size (``make test`` keeps the bench working): the busy guild
seeded, every page answered 200 with the seeded names in both phases, ticks ran meanwhile, and
the proof check in chromium matched on the seeded period and on each drand-signed proof. Never
asserts on time."""

from __future__ import annotations

import argparse

from benchmarks import pages, pages_seed, proof_check
from benchmarks.report import Report


def test_the_bench_lists_every_guild_page_of_the_browser_sweep() -> None:
    from tests.web.browser.test_every_page import GUILD_PAGES, SIGNED_IN

    seeded = pages_seed.Seeded(200, 3, "a", "b", "c", "d", "e", "f")
    timed = pages.paths(seeded)
    guild = f"/dashboard/{pages_seed.GUILD}/"
    assert {guild + tail for tail in GUILD_PAGES} <= set(timed)
    assert set(SIGNED_IN) <= set(timed)
    assert "/raffle/3" in timed  # the public proof page of the last closed period


def test_a_tiny_run_answers_every_page_with_its_seeded_names(postgres_url, tmp_path) -> None:
    args = argparse.Namespace(page_viewers=200, page_requests=2)
    report = Report()
    figures = pages.run(args, postgres_url, tmp_path, report)
    assert figures.problems == []  # every page 200 and showing its seeded name, every tick right
    assert report.problems == []
    assert [phase.name for phase in figures.phases] == ["quiet", "ticking"]
    assert len(figures.paths) == len(
        pages.paths(pages_seed.Seeded(200, 3, "a", "b", "c", "d", "e", "f"))
    )
    for phase in figures.phases:
        assert list(phase.times) == figures.paths
        assert all(len(times) == 2 for times in phase.times.values())
    assert figures.phases[1].ticks >= 1
    assert figures.proof_rows > 0
    checked = {what: len(seconds) for what, seconds in figures.proof_check.items()}
    assert checked == {
        proof_check.PAGE: proof_check.ROUNDS,
        "a quicknet-signed proof": proof_check.ROUNDS,
        "a default-signed proof": proof_check.ROUNDS,
    }
    assert len(report.targets) == 0  # targets are added when printed
    pages.print_figures(figures, report, pages.shorten)
    assert len(report.targets) == 2 + len(checked)
