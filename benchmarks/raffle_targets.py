"""The raffle part of ``python -m benchmarks``: runs benchmarks/raffle.py and raffle_close.py on
a new database of the throwaway PostgreSQL, prints the figures and files the targets."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from benchmarks import raffle, raffle_close, raffle_draw
from benchmarks.interleave import MIN_ROUNDS, figures_text, load_text
from benchmarks.raffle import Figures
from benchmarks.watchtime import postgres_database
from core.config import RaffleSettings
from core.features.raffle.service import RaffleService
from core.features.schema import migrate
from core.storage import db

AWARDS_SHARE_OF_BARE = 0.5
AWARDS_BATCH_PER_SECOND = 10_000
# Seconds per viewer, participant or ledger row: the targets at their nominal sizes (10,000
# viewers in 0.2 s, 100,000 in 2 s; a 1,000,000-row ledger closed in 4 s; a draw among
# 100,000 participants in 0.1 s), scaled for other sizes.
CONVERSION_PER_VIEWER = 2e-5
CLOSE_PER_ROW = 4e-6
DRAW_PER_PARTICIPANT = 1e-6
MEMORY_MB = 200
# Our draw among 1,000 participants takes at most a third of the reference's (issue 43).
DRAW_SHARE_OF_REFERENCE = 1 / 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--awards", type=int, default=2_500, help="awards one at a time, per round")
    parser.add_argument("--award-batch", type=int, default=10_000, help="awards in one crowd")
    parser.add_argument(
        "--award-rounds", type=int, default=10,
        help=f"rounds of each side of the awards, interleaved with the bare baseline "
        f"(at least {MIN_ROUNDS})",
    )  # fmt: skip
    parser.add_argument(
        "--conversion-viewers", type=int, nargs="+", default=[10_000, 100_000],
        help="viewers due an hour, per conversion",
    )  # fmt: skip
    parser.add_argument("--participants", type=int, default=100_000, help="for close and draw")
    parser.add_argument("--ledger-rows", type=int, default=1_000_000, help="for the close")
    parser.add_argument(
        "--draw-sizes", type=int, nargs="+", default=[1_000, 10_000],
        help="participants of the draws timed against the reference's (besides --participants)",
    )  # fmt: skip
    parser.add_argument(
        "--draw-rounds", type=int, default=9,
        help=f"rounds of each side of the draw against the reference (at least {MIN_ROUNDS})",
    )  # fmt: skip


def quick(args: argparse.Namespace) -> None:
    args.awards, args.award_batch, args.conversion_viewers = 300, 2_000, [2_000]
    args.award_rounds = MIN_ROUNDS
    args.participants, args.ledger_rows = 5_000, 50_000


def run(args: argparse.Namespace, pg_url: str, say: Callable[[str], None]) -> dict:
    """Everything measured, by part; raises when an answer was wrong."""
    found: dict = {"figures": [], "memory": None}
    with postgres_database(pg_url) as url:
        engine = db.create_engine(url)
        try:
            migrate(engine)
            rounds = max(MIN_ROUNDS, args.award_rounds)
            say(
                f"raffle awards: {args.awards:,} one at a time, {args.award_batch:,} at once; "
                f"{rounds} rounds of each, interleaved with the bare baseline ..."
            )
            found["figures"] += raffle.awards(engine, args.awards, args.award_batch, rounds)
            for index, viewers in enumerate(args.conversion_viewers):
                say(f"raffle conversion, {viewers:,} viewers due an hour ...")
                found["figures"].append(raffle.conversion(engine, viewers, args.runs, index))
            say(
                f"raffle close and draw: {args.participants:,} participants, "
                f"{args.ledger_rows:,} ledger rows (set-up) ..."
            )
            began = time.perf_counter()
            period_id = raffle_close.fill(engine, args.participants, args.ledger_rows)
            found["setup_seconds"] = time.perf_counter() - began
            say("raffle memory: a fresh process through a tick, the conversion and the close ...")
            load = os.getloadavg()[0]
            found["memory"] = raffle_close.memory(url, args.participants) | {"load": load}
            say("raffle close and draw, timed ...")
            found["figures"] += raffle_close.close_and_draw(
                engine, period_id, args.runs, args.participants
            )
            found["figures"] += _draws_against_reference(engine, args, period_id, say)
        finally:
            engine.dispose()
    return found


def _draws_against_reference(
    engine: Engine, args: argparse.Namespace, big_period_id: int, say: Callable[[str], None]
) -> list[Figures]:
    """Our draw against the reference's (benchmarks/raffle_draw.py) at each of
    ``--draw-sizes`` below ``--participants``, and at ``--participants`` on the big period."""
    raffle_service = RaffleService(
        engine,
        RaffleSettings(),
        clock=lambda: raffle_close.NOW + 2 * raffle_close.STEP,
        actor_secret=raffle_close.BENCH_SECRET,
    )
    rounds = max(MIN_ROUNDS, args.draw_rounds)
    sizes = sorted(size for size in set(args.draw_sizes) if size < args.participants)
    found = []
    for index, size in enumerate(sizes):
        say(f"raffle draw against the reference's, {size:,} participants (set-up, then timed) ...")
        guild_id = raffle_draw.DRAW_GUILD + index
        period_id = raffle_draw.closed_period(engine, raffle_service, guild_id, size)
        found.append(raffle_draw.against_reference(engine, raffle_service, period_id, size, rounds))
    say(f"raffle draw against the reference's, {args.participants:,} participants ...")
    found.append(
        raffle_draw.against_reference(
            engine, raffle_service, big_period_id, args.participants, rounds
        )
    )
    return found


def _value(figures: Figures, value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if figures.unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.2f} s"


def print_figures(args: argparse.Namespace, found: dict, say, target) -> None:
    """The table, then the targets through ``target(what, measured, met)``."""
    say("")
    say(
        "RAFFLE (PostgreSQL): medians [min-max] of rounds interleaved with the bare baseline "
        "(turns, the first alternating); ours/bare: median of the rounds' ratios"
    )
    header = (
        f"{'what':<34}{'rounds':>7}{'ours':>31}{'bare':>31}{'ours/bare':>11}"
        f"{'load 1m':>13}{'others':>8}"
    )
    say(header)
    say("-" * len(header))
    for f in found["figures"]:
        load = f"{f.load_start[0]:.2f}-{f.load_end[0]:.2f}"
        say(
            f"{f.what:<34}{len(f.ours):>7}{_spread(f, f.ours):>31}{_spread(f, f.bare):>31}"
            f"{_ratio(f.median_ratio, f.unit):>11}{load:>13}{f.others:>8.0%}"
        )
    say("bare: awards one at a time: single-row INSERT + COMMIT into a bare table; a crowd:")
    say("  the same rows in one executemany; conversion: one INSERT ... SELECT of N rows; close:")
    say("  reading the ledger once (server-side cursor); draw: one seek in the frozen ranges;")
    say("  draw vs reference: the reference bot's weighted draw over the same rows")
    say("  (benchmarks/raffle_draw.py), ours/bare = our time over its time.")
    say("load 1m: the 1-minute load average at the start and the end of the part.")
    for f in found["figures"]:
        if f.what.startswith(("award", "draw vs")):
            _rounds(f, say)
    for f in found["figures"]:
        _file(f, args, target, say)
    memory = found.get("memory")
    if memory:
        say(
            f"memory: the bot process (fresh, core.runtime imported) idles at "
            f"{memory['idle_mb']:.0f} MB; peak {memory['peak_mb']:.0f} MB through a tick of "
            f"{memory['credited']:,} present viewers, their conversion and the close "
            f"(load {memory['load']:.2f})"
        )
        target(
            f"bot RSS, {args.participants:,} viewers, {args.ledger_rows:,}-row ledger "
            f"< {MEMORY_MB} MB",
            f"{memory['peak_mb']:.0f} MB peak (idle {memory['idle_mb']:.0f} MB)",
            memory["peak_mb"] < MEMORY_MB and memory["eligible"] == memory["expected"],
        )


def _ratio(value: float, unit: str = "/s") -> str:
    """A rate's ratio as a share (ours does 52 % of bare's rows a second); a duration's as a
    factor (ours takes 13.6x bare's time)."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.0%}" if unit == "/s" else f"{value:.2f}x"


def _speedup(ratio: float) -> str:
    """Our time over the reference's as how many times faster ours is."""
    return "n/a" if math.isnan(ratio) or not ratio else f"{1 / ratio:.1f}x faster"


def _beside_ratio(f: Figures) -> str:
    """The bare baseline and ours over it, measured interleaved in the same rounds."""
    return f"(bare {_value(f, f.bare_median)}; ours/bare {_ratio(f.median_ratio, f.unit)})"


def _rounds(f: Figures, say) -> None:
    """The rounds of an interleaved part, compactly."""
    scale, unit = (1000, "ms") if f.unit == "s" else (1, f.unit)  # durations in milliseconds
    say(f"{f.what}, per round ({unit}; order {f.order}, A = bare, B = ours):")
    say(f"  bare       {figures_text([v * scale for v in f.bare], 1 if scale > 1 else 0)}")
    say(f"  ours       {figures_text([v * scale for v in f.ours], 1 if scale > 1 else 0)}")
    ratios = " ".join(_ratio(r, f.unit) for r in f.ratios)
    say(f"  ours/bare  {ratios}: median {_ratio(f.median_ratio, f.unit)}")
    say(f"  load average (1, 5, 15 min): {load_text(f.load_start)} -> {load_text(f.load_end)}")


def _spread(f: Figures, values: list[float]) -> str:
    if not values:
        return "n/a"
    median = _value(f, statistics.median(values))
    return f"{median} [{_value(f, min(values))}-{_value(f, max(values))}]"


def _file(f: Figures, args: argparse.Namespace, target, say) -> None:
    ours, bare = f.ours_median, f.bare_median
    beside = f"(bare {_value(f, bare)})"
    if f.what.startswith("awards one"):
        ratio = f.median_ratio
        target(
            f"awards one at a time >= {AWARDS_SHARE_OF_BARE:.0%} of bare (interleaved)",
            f"{_ratio(ratio)} (median of {len(f.ratios)} rounds' ratios; "
            f"{_value(f, ours)} {beside}; load {f.load_start[0]:.2f}-{f.load_end[0]:.2f})",
            ratio >= AWARDS_SHARE_OF_BARE,
        )
    elif f.what.startswith("award_many"):
        target(
            f"award_many >= {AWARDS_BATCH_PER_SECOND:,}/s",
            f"{_value(f, ours)} {beside}",
            ours >= AWARDS_BATCH_PER_SECOND,
        )
    elif f.what.startswith("conversion"):
        viewers = int(f.what.split()[1].replace(",", ""))
        limit = viewers * CONVERSION_PER_VIEWER
        target(
            f"{f.what} < {_value(f, limit)}", f"{_value(f, ours)} {_beside_ratio(f)}", ours < limit
        )
    elif f.what.startswith("close"):
        limit = args.ledger_rows * CLOSE_PER_ROW
        target(
            f"close of a {args.ledger_rows:,}-row ledger < {_value(f, limit)}",
            f"{_value(f, ours)} {_beside_ratio(f)}",
            ours < limit,
        )
    elif f.what.startswith("draw vs reference, 1,000"):
        ratio = f.median_ratio
        target(
            "draw at 1,000 participants >= 3x the reference's (interleaved)",
            f"{_speedup(ratio)} (median of {len(f.ratios)} rounds' ratios; ours "
            f"{_value(f, ours)}, reference {_value(f, bare)}; "
            f"load {f.load_start[0]:.2f}-{f.load_end[0]:.2f})",
            ratio <= DRAW_SHARE_OF_REFERENCE,
        )
    elif f.what.startswith("draw vs reference"):
        say(
            f"{f.what} participants: ours {_value(f, ours)}, reference {_value(f, bare)}, "
            f"{_speedup(f.median_ratio)} (a figure, not a target)"
        )
    elif f.what.startswith("draw"):
        limit = args.participants * DRAW_PER_PARTICIPANT
        target(f"{f.what} < {_value(f, limit)}", f"{_value(f, ours)} {beside}", ours < limit)
