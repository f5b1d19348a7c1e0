"""``python -m benchmarks --only dashboard``: signed Kick webhooks with 0 and with 100 open live
dashboards (Server-Sent Events) against the same web side, the two measured interleaved.

Two ``python -m core run`` processes (waitress, the embedded bus, the dispatcher, the live hub;
SQLite, each in a throwaway folder of its own) run side by side: A with no dashboard open, B
with ``--dashboards`` streams of the guild's ``events`` topic, logged in once through a loopback
fake Discord (tests/fakes/discord_oauth.py) and read by a process of their own (so they take no
CPU time from the load generator in this one). After a warm-up of each, the two take turns
(benchmarks/interleave.py: A B, B A, A B, ...; ``--dashboard-rounds`` rounds each, at least 5),
measuring like benchmarks/embedded.py, first "max": a closed-loop burst on 8 connections
(accepted/s), ``--dashboard-count`` requests split over the rounds; then "rate": a fixed-rate
open loop (``--dashboard-rate``, 100/s: below saturation on a shared two-core machine, so the
p99 measures waiting and not a queue; p99 from when each request was due), ``--dashboard-
seconds`` split over the rounds. Round ``i`` sends the same requests to both. While one side is
measured the other is idle: before the next round the dispatcher has handled everything and
the streams have had the last ``changed`` note (the notifier coalesces to one a second).
Every webhook is handled, so the event log's topic changes all along: each stream gets a
``changed`` event about once a second while B's rounds run, which is counted.

Whatever load the machine has then falls on both sides alike. PASS when the median of the
rounds' ratios (max accepted/s with the dashboards over without, pair by pair) is at least 90 %,
and the median of B's per-round p99 at the fixed rate is within 10 % (or 5 ms) of A's.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import queue
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives import serialization

from benchmarks import loadgen
from benchmarks.embedded import CONNECTIONS, WARMUP, Phase, _cli, _drained, _measure, core_run
from benchmarks.interleave import (
    MIN_ROUNDS,
    Interleaved,
    a_goes_first,
    figures_text,
    interleave,
    load_text,
)
from benchmarks.report import Report, fmt, say
from benchmarks.signed_requests import BROADCASTER_ID, GUILD_ID, HOST, sign_requests
from benchmarks.webhooks import server_env
from core.platforms.kick.signing import generate_key_pair
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth
from tests.services import free_port

MAX_DROP = 0.10
# After each round with streams open, untimed: the notifier publishes what piled up once a
# second, so the streams' last ``changed`` events are written before the other side's round and
# not during it.
SETTLE_SECONDS = 1.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dashboards", type=int, default=100, help="dashboard: open streams")
    parser.add_argument(
        "--dashboard-count", type=int, default=10_000, help="dashboard: max-throughput requests"
    )
    parser.add_argument(
        "--dashboard-seconds", type=float, default=20.0, help="dashboard: fixed-rate seconds"
    )
    parser.add_argument(
        "--dashboard-rate", type=float, default=100.0, help="dashboard: fixed rate, requests/s"
    )
    parser.add_argument(
        "--dashboard-streams", choices=("events", "overlays"), default="events",
        help="dashboard: what B keeps open: the guild's event log page streams (signed in), or "
        "on-stream overlays (/overlay/<token>/events, no login; heist, raffle and alerts in turn)",
    )  # fmt: skip
    parser.add_argument(
        "--dashboard-rounds", type=int, default=6,
        help=f"dashboard: rounds of each side and phase, interleaved (at least {MIN_ROUNDS}); "
        "the count and the seconds are split over them",
    )  # fmt: skip


def quick(args: argparse.Namespace) -> None:
    args.dashboard_count, args.dashboard_seconds = 2_000, 4.0


@dataclass
class Streams:
    """``count`` SSE readers in a process of their own (so they take no CPU time from the load
    generator in this one), and what they saw."""

    opened: int = 0
    refused: int = 0
    changed: int = 0
    heartbeats: int = 0
    problems: list[str] = field(default_factory=list)
    _stop: Any = None
    _results: Any = None
    _process: Any = None

    def start(self, port: int, cookie: str, count: int, paths: Sequence[str] = ()) -> None:
        """Open ``count`` streams: the event log's with ``cookie``, or, when ``paths`` are
        given, those paths in turn (the overlays' streams, which want no login)."""
        context = multiprocessing.get_context("spawn")
        self._stop, ready, self._results = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_read_streams,
            args=(port, cookie, count, self._stop, ready, self._results, list(paths)),
            daemon=True,
        )
        self._process.start()
        ready.wait(60)

    def stop(self) -> None:
        self._stop.set()
        try:
            found = self._results.get(timeout=30)
        except queue.Empty:
            self.problems.append("the stream readers did not report")
            found = {}
        self._process.join(10)
        for name, value in found.items():
            setattr(self, name, value)


def _read_streams(port: int, cookie: str, count: int, stop, ready, results, paths) -> None:  # type: ignore[no-untyped-def]
    seen = {"opened": 0, "refused": 0, "changed": 0, "heartbeats": 0, "problems": []}

    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        if paths:
            path, login = paths[n % len(paths)], ""
        else:
            path, login = f"/dashboard/{GUILD_ID}/live/events", f"Cookie: sk_session={cookie}\r\n"
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{login}Accept: text/event-stream\r\n\r\n"
            ).encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            seen["refused"] += 1
            seen["problems"].append(f"stream {n}: {status.decode().strip()}")
            writer.close()
            return
        seen["opened"] += 1
        try:
            while True:  # cancelled at the stop
                line = await reader.readline()
                if not line:
                    seen["problems"].append(f"stream {n} ended early")
                    return
                if line.startswith((b"event: changed", b"event: state", b"event: alert")):
                    seen["changed"] += 1
                elif b"heartbeat" in line:
                    seen["heartbeats"] += 1
        finally:
            writer.close()

    async def main() -> None:
        tasks = [asyncio.create_task(one(n)) for n in range(count)]
        while seen["opened"] + seen["refused"] < count and not all(t.done() for t in tasks):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        ready.set()
        # One wake-up a fifth of a second for the stop, not one per stream: the readers run
        # during both sides' rounds, and should cost neither anything.
        while not stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    seen["problems"] = seen["problems"][:5]
    results.put(seen)


def _login(url: str, discord: FakeDiscordOAuth) -> str:
    """A dashboard session cookie for the fake Discord user."""
    with httpx.Client(base_url=url, timeout=10) as client:
        start = client.get("/login")
        query = parse_qs(urlsplit(start.headers["Location"]).query)
        approved = httpx.post(
            f"{discord.url}/oauth2/authorize",
            data={"redirect_uri": query["redirect_uri"][0], "state": query["state"][0]},
        )
        answer = parse_qs(urlsplit(approved.headers["Location"]).query)
        done = client.get("/dashboard/callback", params={k: v[0] for k, v in answer.items()})
        if done.status_code != 302:
            raise RuntimeError(f"dashboard login failed: {done.status_code}")
        page = client.get(f"/dashboard/{GUILD_ID}/")
        if page.status_code != 200:
            raise RuntimeError(f"the guild page answered {page.status_code}")
        return str(client.cookies["sk_session"])


@dataclass
class Side:
    """One of the two servers: its figures round by round, per phase."""

    dashboards: int
    port: int
    database: Path
    phases: dict[str, list[Phase]] = field(default_factory=lambda: {"max": [], "rate": []})
    streams: Streams | None = None


@dataclass
class Results:
    sides: list[Side] = field(default_factory=list)  # A (no dashboard), B (with)
    max: Interleaved | None = None  # accepted/s per round
    rate: Interleaved | None = None  # p99 ms per round
    problems: list[str] = field(default_factory=list)


@contextmanager
def _server(
    workdir: Path, public_pem: str, discord: FakeDiscordOAuth, dashboards: int
) -> Iterator[tuple[int, Path, list[str]]]:
    """``python -m core run`` in a folder of its own, migrated, the bench guild added: yields
    its port, its database file and the paths of the guild's overlay streams."""
    data = workdir / f"dashboards-{dashboards}"
    data.mkdir()
    port = free_port()
    env = server_env(
        {
            "DATA_DIR": str(data / "data"),
            "KICK_WEBHOOK_PUBLIC_KEY": public_pem,
            "KICK_WEBHOOK_MAX_AGE_SECONDS": "3600",
            "LOG_LEVEL": "WARNING",
            "DISCORD_CLIENT_ID": CLIENT_ID,
            "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
            "DISCORD_API_BASE_URL": discord.api_base_url,
            "DISCORD_OAUTH_BASE_URL": discord.oauth_base_url,
            "OAUTH_BASE_URL": f"http://{HOST}:{port}",
            # The measured load is 100 streams of one server from one address (what many
            # servers' viewers hold in production): lift the caps per server, overlay link and
            # client address (core/web/dashboard/live_admission.py) to the process's bound.
            "LIVE_MAX_STREAMS_PER_SERVER": "400",
            "LIVE_MAX_STREAMS_PER_OVERLAY": "400",
            "LIVE_MAX_STREAMS_PER_CLIENT": "400",
        },
        port,
    )
    _cli(env, data, "migrate")
    _cli(env, data, "guild", "add", str(GUILD_ID), "--kick-channel", "benchstreamer",
         "--kick-broadcaster-id", BROADCASTER_ID)  # fmt: skip
    overlays = [_overlay_path(env, data, kind) for kind in ("heist", "raffle", "alerts")]
    with core_run(env, data):
        yield port, data / "data" / "streamkeeper.sqlite3", overlays


def _overlay_path(env: dict[str, str], cwd: Path, kind: str) -> str:
    """The path of the bench guild's ``kind`` overlay's stream (``python -m core overlay url``)."""
    done = subprocess.run(
        [sys.executable, "-m", "core", "overlay", "url", "--guild", str(GUILD_ID), "--kind", kind],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"core overlay url failed: {done.stderr[-2000:]}")
    return urlsplit(done.stdout.strip()).path + "/events"


def split(requests: Sequence[bytes], rounds: int) -> list[Sequence[bytes]]:
    """``requests`` in ``rounds`` consecutive slices of (nearly) equal size."""
    bounds = [len(requests) * index // rounds for index in range(rounds + 1)]
    return [requests[bounds[index] : bounds[index + 1]] for index in range(rounds)]


def _round(
    side: Side, phase: str, send: Callable[[], loadgen.Run], problems: list[str], index: int
) -> Phase:
    """Round ``index`` of ``phase`` on ``side``: its dispatcher idle before, the time of ``send``
    measured, then (untimed) everything handled and, when the side without streams comes next
    (the streams' side went first in this pair), the last note out to the streams."""
    _drained(side.database, problems)
    measured = _measure(phase, side.database, send, problems)
    _drained(side.database, problems)
    if side.streams is not None and not a_goes_first(index + 1)[index]:
        time.sleep(SETTLE_SECONDS)
    side.phases[phase].append(measured)
    return measured


def run(args: argparse.Namespace, workdir: Path, report: Report) -> Results:
    private_key, public_pem = generate_key_pair()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    total = WARMUP + args.dashboard_count + int(args.dashboard_rate * args.dashboard_seconds)
    say(f"dashboard: signing {total:,} distinct chat webhooks (untimed) ...")
    requests = sign_requests(pem, total, prefix="dashboard")
    rounds = max(MIN_ROUNDS, args.dashboard_rounds)
    warmup = requests[:WARMUP]
    bursts = split(requests[WARMUP : WARMUP + args.dashboard_count], rounds)
    paced = split(requests[WARMUP + args.dashboard_count :], rounds)
    results = Results()
    problems = results.problems
    with FakeDiscordOAuth() as discord, ExitStack() as servers:
        user = discord.add_user(900000000000000001, "bench")
        user.member_of(GUILD_ID, "Bench", MANAGE_GUILD)
        discord.sign_in_as(user)
        for dashboards in (0, args.dashboards):
            say(f"dashboard: starting python -m core run (SQLite) for {dashboards} dashboards ...")
            port, database, overlays = servers.enter_context(
                _server(workdir, public_pem, discord, dashboards)
            )
            results.sides.append(Side(dashboards, port, database))
        idle, busy = results.sides
        streams = busy.streams = Streams()
        cookie = _login(f"http://{HOST}:{busy.port}", discord)
        paths = overlays if args.dashboard_streams == "overlays" else ()
        streams.start(busy.port, cookie, busy.dashboards, paths)
        try:
            for side in results.sides:
                _measure(
                    "warm-up",
                    side.database,
                    lambda side=side: loadgen.closed_loop(
                        HOST, side.port, warmup, concurrency=CONNECTIONS
                    ),
                    problems,
                )
                _drained(side.database, problems)

            def burst(side: Side) -> Callable[[int], float]:
                def measure(index: int) -> float:
                    def send() -> loadgen.Run:
                        return loadgen.closed_loop(
                            HOST, side.port, bursts[index], concurrency=CONNECTIONS
                        )

                    return _round(side, "max", send, problems, index).accepted_per_second

                return measure

            def paced_round(side: Side) -> Callable[[int], float]:
                def measure(index: int) -> float:
                    def send() -> loadgen.Run:
                        return loadgen.open_loop(
                            HOST, side.port, paced[index], rate=args.dashboard_rate, timeout=600
                        )

                    return _round(side, "rate", send, problems, index).p99_ms

                return measure

            say(
                f"dashboard: max throughput, {rounds} rounds of each of "
                f"~{len(bursts[0]):,} requests, interleaved ..."
            )
            results.max = interleave(burst(idle), burst(busy), rounds)
            say(
                f"dashboard: {args.dashboard_rate:.0f}/s, {rounds} rounds of each of "
                f"~{args.dashboard_seconds / rounds:.1f} s, interleaved ..."
            )
            results.rate = interleave(paced_round(idle), paced_round(busy), rounds)
        finally:
            streams.stop()
            problems += streams.problems[:5]
            if streams.opened != busy.dashboards:
                problems.append(f"{streams.opened} of {busy.dashboards} streams opened")
    report.problems += problems
    return results


def print_figures(args: argparse.Namespace, results: Results, report: Report) -> None:
    top, paced = results.max, results.rate
    if top is None or paced is None or len(results.sides) != 2:
        return
    idle, busy = results.sides
    rounds = len(top.a)
    say()
    say(
        f"DASHBOARDS ({args.dashboard_streams} streams): python -m core run, SQLite, two "
        f"servers side by side; {rounds} rounds of "
        f"each, interleaved ({top.order}); max: {CONNECTIONS} connections closed-loop, "
        f"{args.dashboard_count:,} requests in all; rate: {args.dashboard_rate:.0f}/s open-loop "
        f"for {args.dashboard_seconds:.0f} s in all; medians of the rounds"
    )
    header = f"{'dashboards':<12}{'max accepted/s':>16}{'max p99 ms':>12}{'rate p99 ms':>13}"
    say(header + f"{'rate p50 ms':>13}{'changed events':>16}{'others':>8}")
    say("-" * (len(header) + 37))
    for side, accepted, p99 in ((idle, top.a, paced.a), (busy, top.b, paced.b)):
        seen = side.streams.changed if side.streams else 0
        phases = side.phases["max"] + side.phases["rate"]
        others = max((phase.others for phase in phases), default=0.0)
        say(
            f"{side.dashboards:<12}{_median(accepted):>16,.0f}"
            f"{fmt(_median([p.p99_ms for p in side.phases['max']])):>12}"
            f"{fmt(_median(p99)):>13}"
            f"{fmt(_median([p.p50_ms for p in side.phases['rate']])):>13}"
            f"{seen:>16,}{others:>8.0%}"
        )
        report.others += [phase.others for phase in phases]
    say(f"per round (A: {idle.dashboards} dashboards, B: {busy.dashboards}; order {top.order}):")
    ratios = " ".join("n/a" if math.isnan(r) else f"{r:.0%}" for r in top.ratios)
    rate = f"{args.dashboard_rate:.0f}/s"
    for label, text in (
        ("max accepted/s, A", figures_text(top.a)),
        ("max accepted/s, B", figures_text(top.b)),
        ("B/A", f"{ratios}: median {top.median_ratio:.1%}"),
        ("load average", f"{load_text(top.load_start)} -> {load_text(top.load_end)}"),
        (f"p99 ms at {rate}, A", figures_text(paced.a, 1)),
        (f"p99 ms at {rate}, B", figures_text(paced.b, 1)),
        ("load average", f"{load_text(paced.load_start)} -> {load_text(paced.load_end)}"),
    ):
        say(f"  {label:<22}{text}")
    say("load average: 1, 5 and 15 minutes, at the start and the end of the phase's rounds")
    ratio = top.median_ratio
    report.target(
        f"ingest with {busy.dashboards} dashboards >= {1 - MAX_DROP:.0%} of without (interleaved)",
        f"{ratio - 1:+.1%} (median of {rounds} rounds' ratios; {top.b_median:,.0f}/s vs "
        f"{top.a_median:,.0f}/s; load {top.load_start[0]:.2f}-{top.load_end[0]:.2f})",
        ratio >= 1 - MAX_DROP,
    )
    p99_idle, p99_busy = paced.a_median, paced.b_median
    report.target(
        f"p99 at {args.dashboard_rate:.0f}/s, {busy.dashboards} dashboards: +10 % or 5 ms "
        "(interleaved)",
        f"{fmt(p99_busy)} ms vs {fmt(p99_idle)} ms (medians of {rounds} rounds; load "
        f"{paced.load_start[0]:.2f}-{paced.load_end[0]:.2f})",
        p99_busy <= max(p99_idle * (1 + MAX_DROP), p99_idle + 5.0),
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
