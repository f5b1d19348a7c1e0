"""``python -m benchmarks`` (``make bench``): webhook throughput, watchtime tick duration, a full
interval of 10,000 guilds with one and with two bot processes (benchmarks/scale.py), the raffle
(awards, conversion, close, draw, memory; benchmarks/raffle_targets.py), webhooks on the
embedded default (``python -m core run`` + SQLite; benchmarks/embedded.py, no servers needed)
webhooks with 100 live dashboards open (benchmarks/dashboard.py) and every dashboard page of a
guild with 10,000 viewers, also while ticks run (benchmarks/pages.py).

Starts its own PostgreSQL and Redis on 127.0.0.1 (``tests.services``), prints what it measured
with PASS/MISS per target, and exits 0; 1 when something broke (a wrong answer, a lost event, a
tick that credited the wrong viewers, a crash, an address beyond loopback tried:
benchmarks/loopback.py), never for a missed target. Runs in about four
minutes on two cores, plus 7-9 for the scale part (its full intervals) and about fifteen for the
embedded part (five runs with a 60 s phase each); every loop is bounded by a count and a timeout.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from benchmarks import (
    dashboard,
    embedded,
    pages,
    raffle_targets,
    scale,
    scale_report,
    watchtime,
    webhooks,
    webhooks_report,
)
from benchmarks.loopback import only_loopback
from benchmarks.report import Report, say, verdict
from benchmarks.system import OtherLoad, count_as_ours, describe_machine, find_processes
from benchmarks.webhooks_report import DEFAULT_CONFIGS, LADDER_CONFIG, OTHERS_WARNING
from tests import services

TARGET_TICK_SECONDS = 1.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only",
        choices=("webhooks", "watchtime", "scale", "raffle", "embedded", "dashboard", "pages"),
        help="run one part",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=list(DEFAULT_CONFIGS),
        metavar="CONFIG",
        help="gunicorn configurations: sync:WORKERS or gthread:WORKERSxTHREADS, "
        "optionally +reuse-port "
        f"(default: {' '.join(DEFAULT_CONFIGS)})",
    )
    parser.add_argument("--count", type=int, default=20_000, help="max-throughput requests")
    parser.add_argument("--concurrency", type=int, default=16, help="max-throughput connections")
    parser.add_argument("--rate", type=float, default=500.0, help="fixed rate, requests/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="fixed-rate duration")
    parser.add_argument(
        "--viewers", type=int, nargs="+", default=[10_000, 100_000], help="tick sizes"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed ticks per path")
    parser.add_argument("--guilds", type=int, default=10_000, help="guilds in the scale part")
    parser.add_argument(
        "--viewers-each", type=int, default=100, help="present viewers per guild (scale part)"
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2],
        help="bot processes sharing the guilds in the scale part, one run per count",
    )  # fmt: skip
    parser.add_argument(
        "--no-what-if",
        dest="what_if",
        action="store_false",
        help="skip the comparison runs (the former webhook path: two Redis round trips)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also sample the gunicorn workers with py-spy under load ({LADDER_CONFIG})",
    )
    raffle_targets.add_arguments(parser)
    embedded.add_arguments(parser)
    dashboard.add_arguments(parser)
    pages.add_arguments(parser)
    parser.add_argument(
        "--quick", action="store_true", help="small counts, to check that the bench works"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.seconds, args.viewers, args.runs = 2_000, 2.0, [1_000], 2
        args.guilds = 500
        raffle_targets.quick(args)
        embedded.quick(args)
        dashboard.quick(args)
        pages.quick(args)
    args.configs = [webhooks.ServerConfig.parse(text) for text in args.configs]
    return args


# --- watchtime -------------------------------------------------------------------------------


def run_watchtime(args, pg_url: str, workdir: Path, report: Report) -> list[watchtime.TickFigures]:
    figures = []
    for count in args.viewers:
        for backend, action in (
            ("PostgreSQL", lambda count=count: watchtime.run_postgres(pg_url, count, args.runs)),
            ("SQLite", lambda count=count: watchtime.run_sqlite(workdir, count, args.runs)),
        ):
            say(f"watchtime tick, {backend}, {count:,} present viewers ...")
            result = report.guard(f"watchtime {backend} {count:,}", action)
            if result is not None:
                figures.append(result)
                report.problems += result.problems
    if args.what_if:
        count = max(args.viewers)
        say(f"watchtime tick, PostgreSQL, {count:,} present viewers, the former tick ...")
        result = report.guard(
            "watchtime former",
            lambda: watchtime.run_postgres(pg_url, count, args.runs, former=True),
        )
        if result is not None:
            figures.append(result)
            report.problems += result.problems
    return figures


def print_watchtime(args, figures: list[watchtime.TickFigures], report: Report) -> None:
    say()
    say(
        f"WATCHTIME TICK: WatchtimeService.tick(guild, now) for N present viewers, "
        f"median of {args.runs} [min-max], seconds"
    )
    header = (
        f"{'backend':<12}{'viewers':>9}  {'insert path':<24}{'upsert path':<24}"
        f"{'setup':>7}{'others':>8}"
    )
    say(header)
    say("-" * len(header))
    for f in figures:
        say(
            f"{f.backend:<12}{f.viewers:>9,}  {_spread(f.insert_seconds):<24}"
            f"{_spread(f.upsert_seconds):<24}{f.setup_seconds:>6.1f}s{f.others:>8.0%}"
        )
    say("insert path: the guild's watchtime rows are new (first credit); upsert path: they exist.")
    say("setup: bulk insert of the viewers and their presence (untimed in the tick figures).")
    if any(f.backend == "PG former" for f in figures):
        say("PG former: the tick before migration 0008 (one upsert, seconds indexed), same data.")
    for f in figures:
        if f.backend == "PostgreSQL" and f.viewers == max(args.viewers):  # not the former
            worst = max(f.insert_median, f.upsert_median)
            report.target(
                f"PostgreSQL tick, {f.viewers:,} viewers < {TARGET_TICK_SECONDS:.0f} s",
                f"{f.insert_median:.2f} s insert / {f.upsert_median:.2f} s upsert",
                worst < TARGET_TICK_SECONDS,
            )


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


# --- main ------------------------------------------------------------------------------------


def _run_with_servers(args, report: Report):
    """The parts that need PostgreSQL and Redis; None when those cannot be started."""
    webhook_figures = None
    tick_figures: list[watchtime.TickFigures] = []
    raffle_found = None
    scale_figures: list[scale.IntervalFigures] = []
    page_figures = None
    with ExitStack() as stack:
        try:
            pg_url = stack.enter_context(services.postgres_server())
            redis_url = stack.enter_context(services.redis_server())
        except services.ServiceUnavailable as exc:
            say(f"cannot run: {exc} (make bench installs the servers)")
            return None
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sk-bench-")))
        say(_server_versions(pg_url, redis_url))
        count_as_ours(_postgres_pids(pg_url))
        report.others.append(_quiet_check())
        if args.only in (None, "webhooks"):
            webhook_figures = report.guard(
                "webhooks",
                lambda: webhooks_report.run_webhooks(args, pg_url, redis_url, workdir, report),
            )
        if args.only in (None, "watchtime"):
            tick_figures = run_watchtime(args, pg_url, workdir, report)
        if args.only in (None, "scale"):
            say(
                f"a full interval, {args.guilds:,} guilds x {args.viewers_each} viewers "
                "(set-up first) ..."
            )
            scale_figures = (
                report.guard(
                    "scale",
                    lambda: scale.run(
                        pg_url, args.guilds, args.viewers_each, args.processes, say=say
                    ),
                )
                or []
            )
        if args.only in (None, "raffle"):
            raffle_found = report.guard("raffle", lambda: raffle_targets.run(args, pg_url, say))
        if args.only in (None, "pages"):
            say(f"dashboard pages, {args.page_viewers:,} viewers (set-up first) ...")
            page_figures = report.guard("pages", lambda: pages.run(args, pg_url, workdir, report))
    scale_report.print_figures(scale_figures, report)
    if page_figures is not None:
        pages.print_figures(page_figures, report, pages.shorten)
    return webhook_figures, tick_figures, raffle_found


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # A plain SIGTERM (``timeout``, a closed terminal) would end the process without unwinding,
    # leaving the throwaway PostgreSQL and Redis running (one kept a runaway query at 100 % of
    # a core): exit through Python instead, so every server is stopped on the way out.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parse_args(argv)
    with only_loopback() as refused:
        return _run(args, refused)


def _run(args: argparse.Namespace, refused: Callable[[], list[str]]) -> int:
    report = Report()
    started = time.monotonic()
    say("StreamKeeper benchmarks")
    for line in describe_machine():
        say(line)
    webhook_figures = None
    tick_figures: list[watchtime.TickFigures] = []
    raffle_found = None
    embedded_results = None
    dashboard_results = None
    if args.only in (None, "embedded"):  # SQLite in its own data folder: no servers needed
        with tempfile.TemporaryDirectory(prefix="sk-bench-embedded-") as embedded_dir:
            embedded_results = report.guard(
                "embedded", lambda: embedded.run(args, Path(embedded_dir), report)
            )
    if args.only in (None, "dashboard"):  # SQLite too, and a loopback fake Discord
        with tempfile.TemporaryDirectory(prefix="sk-bench-dashboard-") as dashboard_dir:
            dashboard_results = report.guard(
                "dashboard", lambda: dashboard.run(args, Path(dashboard_dir), report)
            )
    if args.only not in ("embedded", "dashboard"):
        found = _run_with_servers(args, report)
        if found is None:
            return 1
        webhook_figures, tick_figures, raffle_found = found

    if webhook_figures is not None:
        webhooks_report.print_webhooks(args, *webhook_figures, report)
    if tick_figures:
        print_watchtime(args, tick_figures, report)
    if embedded_results:
        embedded.print_figures(args, embedded_results, report)
    if dashboard_results:
        dashboard.print_figures(args, dashboard_results, report)
    if raffle_found is not None:
        raffle_targets.print_figures(args, raffle_found, say, report.target)
        report.others += [f.others for f in raffle_found["figures"]]
    if webhook_figures is not None:
        report.others += [
            phase.others for result in webhook_figures[0] for phase in result.phases.values()
        ]
    report.others += [f.others for f in tick_figures]
    busiest = max(report.others, default=0.0)
    if busiest > OTHERS_WARNING:
        say()
        say(
            f"WARNING: other processes used up to {busiest:.0%} of the CPUs during the runs "
            "(see 'others'): the figures are lower than this machine gives when idle."
        )
    say()
    say("TARGETS")
    for what, measured, met in report.targets:
        say(f"  {verdict(met)}  {what:<58} {measured}")
    say()
    report.problems += [f"reached beyond loopback: {what}" for what in refused()]
    if report.problems:
        say("BROKEN:")
        for problem in report.problems:
            say(f"  - {problem}")
    else:
        say("checks: every answer and every tick was as expected")
    say(f"done in {time.monotonic() - started:.0f} s")
    return 1 if report.problems else 0


def _postgres_pids(pg_url: str) -> list[int]:
    port = pg_url.rsplit(":", 1)[1].split("/")[0]
    return find_processes("postgres", f"port={port}")


def _quiet_check(seconds: float = 2.0) -> float:
    """Share of the CPUs other processes use right now; says so when the machine is busy."""
    load = OtherLoad()
    time.sleep(seconds)
    share = load.share()
    if share > OTHERS_WARNING:
        say(
            f"WARNING: before starting, other processes used {share:.0%} of the CPUs; "
            "the figures will be lower than this machine gives when idle"
        )
    return share


def _server_versions(pg_url: str, redis_url: str) -> str:
    import redis
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            pg_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()
    client = redis.Redis.from_url(redis_url)
    try:
        redis_version = client.info("server").get("redis_version", "?")
    finally:
        client.close()
    return (
        f"servers: PostgreSQL {str(pg_version).split()[0]} (throwaway, fsync=off, "
        f"synchronous_commit=off), Redis {redis_version} (no persistence), both on 127.0.0.1"
    )


if __name__ == "__main__":
    sys.exit(main())
