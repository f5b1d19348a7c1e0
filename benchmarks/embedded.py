"""``python -m benchmarks --only embedded``: signed Kick webhooks on the embedded default.

``python -m core run`` (waitress, the embedded bus, the dispatcher and the scheduler in one
process, no Discord token) on SQLite in a throwaway data folder, started afresh for each run:

1. warm-up: 300 requests closed-loop (checked, not reported; the bare server gets one too);
2. max throughput: ``--embedded-count`` requests closed-loop on 8 keep-alive connections;
3. fixed rate: 300 requests/s open-loop for ``--embedded-seconds`` (60 s; 5 s with ``--quick``),
   latency counted from when each request was due (no coordinated omission).

In each run, the same two phases (the rate phase for ``BARE_RATE_SECONDS``) against the bare
baseline, ``python -m benchmarks.bare_waitress``: the same web server with the same settings and
threads, answering every request at once (no signature, no database). The two take turns
(benchmarks/interleave.py): ours first in the first run, the bare server first in the second,
and so on, and each run gives the ratio of ours to bare at max throughput; the target is the
median of those ratios, which the machine's load moves less than either figure.

Every answer must be ``200 {"status": "queued"}`` and the event table must hold exactly one row
per request. "handled/s" is how many events the dispatcher acknowledged during a phase (rows of
``bus_events`` with ``acked_at`` set, counted at the phase's start and end) over its wall time:
the dispatcher keeps up when that is at least the accepted rate. Medians over the runs (5 in full
mode), with the load average before each run beside them: the machine may be shared.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from benchmarks import interleave, loadgen
from benchmarks.report import Report, fmt, say
from benchmarks.signed_requests import BROADCASTER_ID, GUILD_ID, HOST, sign_requests
from benchmarks.system import OtherLoad
from benchmarks.webhooks import server_env
from core.platforms.kick.signing import generate_key_pair
from tests.services import free_port

TARGET_SHARE_OF_BARE = 0.5  # max throughput, ours over bare, median of the runs' ratios
TARGET_P99_MS = 20.0
RATE = 300.0
CONNECTIONS = 8
WARMUP = 300
BARE_RATE_SECONDS = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--embedded-runs", type=int, default=5, help="embedded: runs (medians)")
    parser.add_argument(
        "--embedded-count", type=int, default=15_000, help="embedded: max-throughput requests"
    )
    parser.add_argument(
        "--embedded-seconds", type=float, default=60.0, help="embedded: 300/s phase, seconds"
    )


def quick(args: argparse.Namespace) -> None:
    args.embedded_runs, args.embedded_count, args.embedded_seconds = 2, 2_000, 5.0


@dataclass
class Phase:
    name: str
    sent: int
    accepted: int
    wall_seconds: float
    handled: int
    p50_ms: float
    p99_ms: float
    others: float

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def handled_per_second(self) -> float:
        return self.handled / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class RunResult:
    load_before: float
    phases: dict[str, Phase] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bare_first: bool = False

    @property
    def ratio(self) -> float:
        """Ours over bare at max throughput, in this run."""
        ours, bare = self.phases.get("max"), self.phases.get("bare max")
        if ours is None or bare is None or not bare.accepted_per_second:
            return math.nan
        return ours.accepted_per_second / bare.accepted_per_second


def _cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "core", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"core {' '.join(args)} failed: {done.stderr[-2000:]}")


@contextmanager
def core_run(
    env: dict[str, str], workdir: Path, command: tuple[str, ...] = ("core", "run")
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m core run`` (or another ``python -m`` command) on ``env``'s port, once it
    answers ``/health``; stopped with SIGTERM (by its PID) afterwards."""
    log_path = workdir / f"{command[0]}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            env=env,
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://{HOST}:{env['PORT']}/health"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not answer /health in 60 s") from None
                time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _events(database: Path | None) -> tuple[int, int]:
    """(rows in the event table, rows the dispatcher acknowledged), read without writing;
    (0, 0) for the bare baseline, which has no database."""
    if database is None:
        return 0, 0
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        total, acked = conn.execute("SELECT count(*), count(acked_at) FROM bus_events").fetchone()
        return int(total), int(acked)
    finally:
        conn.close()


def _measure(
    name: str, database: Path | None, send: Callable[[], loadgen.Run], problems: list[str]
) -> Phase:
    total_before, acked_before = _events(database)
    others = OtherLoad()
    run = send()
    share = others.share()
    total_after, acked_after = _events(database)
    accepted = sum(
        1
        for status, body in zip(run.statuses, run.bodies, strict=True)
        if status == 200 and b'"queued"' in body
    )
    if accepted != run.count:
        statuses: dict[int, int] = {}
        for status in run.statuses:
            statuses[status] = statuses.get(status, 0) + 1
        problems.append(f"{name}: {run.count - accepted} of {run.count} not queued {statuses}")
    if run.errors:
        problems.append(f"{name}: {len(run.errors)} request errors, first: {run.errors[0]}")
    if database is not None and total_after - total_before != accepted:
        problems.append(
            f"{name}: {accepted} queued answers, {total_after - total_before} rows in the queue"
        )
    return Phase(
        name,
        run.count,
        accepted,
        run.wall_seconds,
        acked_after - acked_before,
        run.percentile(0.50) * 1000,
        run.percentile(0.99) * 1000,
        share,
    )


def one_run(
    index: int, workdir: Path, public_pem: str, requests: list[bytes], count: int
) -> RunResult:
    """Ours and the bare server, in the order :func:`interleave.a_goes_first` gives run
    ``index`` (ours is A)."""
    data = workdir / f"run-{index}"
    data.mkdir()
    port = free_port()
    env = server_env(
        {
            "DATA_DIR": str(data / "data"),
            "KICK_WEBHOOK_PUBLIC_KEY": public_pem,
            "KICK_WEBHOOK_MAX_AGE_SECONDS": "3600",
            "LOG_LEVEL": "WARNING",
        },
        port,
    )
    _cli(env, data, "migrate")
    _cli(
        env,
        data,
        "guild",
        "add",
        str(GUILD_ID),
        "--kick-channel",
        "benchstreamer",
        "--kick-broadcaster-id",
        BROADCASTER_ID,
    )
    database = data / "data" / "streamkeeper.sqlite3"
    ours_first = interleave.a_goes_first(index + 1)[index]
    result = RunResult(os.getloadavg()[0], bare_first=not ours_first)
    warmup, burst, paced = (
        requests[:WARMUP],
        requests[WARMUP : WARMUP + count],
        requests[WARMUP + count :],
    )
    if not ours_first:
        _bare_phases(env, data, port, burst, paced, result)
    _our_phases(env, data, port, database, (warmup, burst, paced), result)
    if ours_first:
        _bare_phases(env, data, port, burst, paced, result)
    return result


def _our_phases(
    env: dict[str, str],
    data: Path,
    port: int,
    database: Path,
    requests: tuple[list[bytes], list[bytes], list[bytes]],
    result: RunResult,
) -> None:
    warmup, burst, paced = requests
    with core_run(env, data):
        _measure(
            "warm-up",
            database,
            lambda: loadgen.closed_loop(HOST, port, warmup, concurrency=CONNECTIONS),
            result.problems,
        )
        for name, send in (
            ("max", lambda: loadgen.closed_loop(HOST, port, burst, concurrency=CONNECTIONS)),
            ("rate", lambda: loadgen.open_loop(HOST, port, paced, rate=RATE, timeout=600)),
        ):
            # Untimed: the dispatcher's backlog from the phase before is not counted as handled.
            _drained(database, result.problems)
            result.phases[name] = _measure(name, database, send, result.problems)
        _drained(database, result.problems)


def _bare_phases(
    env: dict[str, str],
    data: Path,
    port: int,
    burst: list[bytes],
    paced: list[bytes],
    result: RunResult,
) -> None:
    bare_paced = paced[: int(RATE * bare_seconds(len(paced)))]
    with core_run(env, data, ("benchmarks.bare_waitress",)):
        loadgen.closed_loop(HOST, port, burst[:WARMUP], concurrency=CONNECTIONS)  # as ours
        for name, send in (
            ("bare max", lambda: loadgen.closed_loop(HOST, port, burst, concurrency=CONNECTIONS)),
            ("bare rate", lambda: loadgen.open_loop(HOST, port, bare_paced, rate=RATE)),
        ):
            result.phases[name] = _measure(name, None, send, result.problems)


def bare_seconds(paced: int) -> float:
    """How long the bare baseline's rate phase lasts: BARE_RATE_SECONDS, or less in --quick."""
    return min(BARE_RATE_SECONDS, paced / RATE)


def _drained(database: Path, problems: list[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        total, acked = _events(database)
        if total == acked:
            return
        time.sleep(0.2)
    problems.append(f"the dispatcher left {total - acked} of {total} events unhandled")


def run(args: argparse.Namespace, workdir: Path, report: Report) -> list[RunResult]:
    private_key, public_pem = generate_key_pair()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    total = WARMUP + args.embedded_count + int(RATE * args.embedded_seconds)
    say(f"embedded: signing {total:,} distinct chat webhooks (untimed) ...")
    requests = sign_requests(pem, total, prefix="embedded")
    results = []
    for index in range(args.embedded_runs):
        say(f"embedded: run {index + 1} of {args.embedded_runs} (python -m core run, SQLite) ...")
        result = one_run(index, workdir, public_pem, requests, args.embedded_count)
        report.problems += result.problems
        results.append(result)
    return results


def print_figures(args: argparse.Namespace, results: list[RunResult], report: Report) -> None:
    say()
    say(
        f"EMBEDDED WEBHOOKS: python -m core run, SQLite, {len(results)} run(s), medians "
        f"[min-max]; max: {CONNECTIONS} connections closed-loop; rate: {RATE:.0f}/s open-loop "
        f"for {args.embedded_seconds:.0f} s"
    )
    header = f"{'phase':<10}{'accepted/s':>24}{'p50 ms':>20}{'p99 ms':>24}{'handled/s':>24}"
    say(header + f"{'others':>8}")
    say("-" * (len(header) + 8))
    medians: dict[str, dict[str, float]] = {}
    for name in ("max", "rate", "bare max", "bare rate"):
        phases = [r.phases[name] for r in results if name in r.phases]
        if not phases:
            continue
        columns = {
            "accepted": [p.accepted_per_second for p in phases],
            "p50": [p.p50_ms for p in phases],
            "p99": [p.p99_ms for p in phases],
            "handled": [p.handled_per_second for p in phases],
        }
        medians[name] = {key: statistics.median(values) for key, values in columns.items()}
        cells = "".join(f"{_cell(name, key, values):>24}" for key, values in columns.items())
        others = max(p.others for p in phases)
        say(f"{name:<10}{cells}{others:>8.0%}")
        report.others += [p.others for p in phases]
    say(
        "load average (1 min) before each run: "
        + ", ".join(f"{r.load_before:.2f}" for r in results)
    )
    say(
        "bare: the same web server, settings and threads answering at once "
        "(benchmarks/bare_waitress.py), before or after ours in turn; its rate phase "
        f"{bare_seconds(int(RATE * args.embedded_seconds)):.0f} s"
    )
    ratios = [r.ratio for r in results if not math.isnan(r.ratio)]
    if ratios:
        order = " ".join("bare, ours" if r.bare_first else "ours, bare" for r in results)
        say(
            "max throughput, ours/bare per run: "
            + " ".join(f"{ratio:.0%}" for ratio in ratios)
            + f" (order by run: {order})"
        )
        ratio = statistics.median(ratios)
        report.target(
            f"embedded max throughput >= {TARGET_SHARE_OF_BARE:.0%} of bare (interleaved)",
            f"{ratio:.0%} (median of {len(ratios)} runs' ratios; "
            f"{medians['max']['accepted']:,.0f}/s, bare {medians['bare max']['accepted']:,.0f}/s"
            f"; load {min(r.load_before for r in results):.2f}-"
            f"{max(r.load_before for r in results):.2f})",
            ratio >= TARGET_SHARE_OF_BARE,
        )
    if "rate" in medians:
        rate = medians["rate"]
        bare = medians.get("bare rate", {}).get("p99")
        report.target(
            f"embedded p99 at {RATE:.0f}/s < {TARGET_P99_MS:.0f} ms",
            f"{fmt(rate['p99'])} ms (p50 {fmt(rate['p50'])} ms)"
            + (f" (bare {fmt(bare)} ms)" if bare is not None else ""),
            rate["p99"] < TARGET_P99_MS,
        )
        report.target(
            "embedded dispatcher keeps up (handled/s >= accepted/s)",
            f"{rate['handled']:,.0f}/s handled, {rate['accepted']:,.0f}/s accepted",
            rate["handled"] >= rate["accepted"] * 0.99,
        )


def _cell(phase: str, column: str, values: list[float]) -> str:
    if column == "handled" and phase.startswith("bare"):
        return "-"  # the bare baseline has no dispatcher
    return _spread(values, 0 if column in ("accepted", "handled") else 1)


def _spread(values: list[float], digits: int) -> str:
    return (
        f"{statistics.median(values):,.{digits}f} "
        f"[{min(values):,.{digits}f}-{max(values):,.{digits}f}]"
    )
