"""``python -m benchmarks --only dashboard``: signed Kick webhooks with 0 and with 100 open live
dashboards (Server-Sent Events) against the same web side.

Each run starts ``python -m core run`` afresh (waitress, the embedded bus, the dispatcher, the
live hub; SQLite in a throwaway folder), logs in once through a loopback fake Discord
(tests/fakes/discord_oauth.py), opens ``--dashboards`` streams of the guild's ``events`` topic
with that session (0 in the first run) and keeps them reading, then measures like
benchmarks/embedded.py: a closed-loop burst on 8 connections ("max", accepted/s) and a fixed
rate open-loop (``--dashboard-rate``, 100/s: below saturation on a shared two-core machine, so
the p99 measures waiting and not a queue; p99 from when each request was due). Every webhook
is handled, so the event log's topic changes all along: each stream gets a ``changed`` event
about once a second (the notifier's coalescing interval) while the load runs, which is counted.

PASS when, with the dashboards open, max accepted/s drops by at most 10 % and the p99 at the
fixed rate stays within 10 % (or 5 ms) of the run without them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives import serialization

from benchmarks import loadgen
from benchmarks.embedded import CONNECTIONS, WARMUP, Phase, _cli, _drained, _measure, core_run
from benchmarks.report import Report, fmt, say
from benchmarks.signed_requests import BROADCASTER_ID, GUILD_ID, HOST, sign_requests
from benchmarks.webhooks import server_env
from core.platforms.kick.signing import generate_key_pair
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth
from tests.services import free_port

MAX_DROP = 0.10


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

    def start(self, port: int, cookie: str, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop, ready, self._results = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_read_streams,
            args=(port, cookie, count, self._stop, ready, self._results),
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


def _read_streams(port: int, cookie: str, count: int, stop, ready, results) -> None:  # type: ignore[no-untyped-def]
    seen = {"opened": 0, "refused": 0, "changed": 0, "heartbeats": 0, "problems": []}

    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(
            (
                f"GET /dashboard/{GUILD_ID}/live/events HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Cookie: sk_session={cookie}\r\nAccept: text/event-stream\r\n\r\n"
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
            while not stop.is_set():
                try:
                    line = await asyncio.wait_for(reader.readline(), 0.5)
                except TimeoutError:
                    continue
                if not line:
                    seen["problems"].append(f"stream {n} ended early")
                    return
                if line.startswith(b"event: changed"):
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
class RunResult:
    dashboards: int
    phases: dict[str, Phase] = field(default_factory=dict)
    streams: Streams | None = None
    problems: list[str] = field(default_factory=list)


def one_run(
    workdir: Path, public_pem: str, requests: list[bytes], args: argparse.Namespace, dashboards: int
) -> RunResult:
    data = workdir / f"dashboards-{dashboards}"
    data.mkdir()
    port = free_port()
    result = RunResult(dashboards)
    with FakeDiscordOAuth() as discord:
        user = discord.add_user(900000000000000001, "bench")
        user.member_of(GUILD_ID, "Bench", MANAGE_GUILD)
        discord.sign_in_as(user)
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
            },
            port,
        )
        _cli(env, data, "migrate")
        _cli(env, data, "guild", "add", str(GUILD_ID), "--kick-channel", "benchstreamer",
             "--kick-broadcaster-id", BROADCASTER_ID)  # fmt: skip
        database = data / "data" / "streamkeeper.sqlite3"
        warmup = requests[:WARMUP]
        burst = requests[WARMUP : WARMUP + args.dashboard_count]
        paced = requests[WARMUP + args.dashboard_count :]
        with core_run(env, data):
            streams = None
            if dashboards:
                streams = Streams()
                streams.start(port, _login(f"http://{HOST}:{port}", discord), dashboards)
                result.streams = streams
            try:
                _measure(
                    "warm-up",
                    database,
                    lambda: loadgen.closed_loop(HOST, port, warmup, concurrency=CONNECTIONS),
                    result.problems,
                )
                for name, send in (
                    (
                        "max",
                        lambda: loadgen.closed_loop(HOST, port, burst, concurrency=CONNECTIONS),
                    ),
                    (
                        "rate",
                        lambda: loadgen.open_loop(
                            HOST, port, paced, rate=args.dashboard_rate, timeout=600
                        ),
                    ),
                ):
                    _drained(database, result.problems)
                    result.phases[name] = _measure(name, database, send, result.problems)
                _drained(database, result.problems)
                time.sleep(0.5)  # the last change reaches the streams
            finally:
                if streams is not None:
                    streams.stop()
                    result.problems += streams.problems[:5]
                    if streams.opened != dashboards:
                        result.problems.append(f"{streams.opened} of {dashboards} streams opened")
    return result


def run(args: argparse.Namespace, workdir: Path, report: Report) -> list[RunResult]:
    private_key, public_pem = generate_key_pair()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    total = WARMUP + args.dashboard_count + int(args.dashboard_rate * args.dashboard_seconds)
    say(f"dashboard: signing {total:,} distinct chat webhooks (untimed) ...")
    requests = sign_requests(pem, total, prefix="dashboard")
    results = []
    for dashboards in (0, args.dashboards):
        say(f"dashboard: {dashboards} open dashboards (python -m core run, SQLite) ...")
        result = one_run(workdir, public_pem, requests, args, dashboards)
        report.problems += result.problems
        results.append(result)
    return results


def print_figures(args: argparse.Namespace, results: list[RunResult], report: Report) -> None:
    say()
    say(
        f"DASHBOARDS: python -m core run, SQLite; max: {CONNECTIONS} connections closed-loop; "
        f"rate: {args.dashboard_rate:.0f}/s open-loop for {args.dashboard_seconds:.0f} s"
    )
    header = f"{'dashboards':<12}{'max accepted/s':>16}{'max p99 ms':>12}{'rate p99 ms':>13}"
    say(header + f"{'rate p50 ms':>13}{'changed events':>16}{'others':>8}")
    say("-" * (len(header) + 37))
    for result in results:
        top, paced = result.phases.get("max"), result.phases.get("rate")
        if top is None or paced is None:
            continue
        seen = result.streams.changed if result.streams else 0
        others = max(top.others, paced.others)
        say(
            f"{result.dashboards:<12}{top.accepted_per_second:>16,.0f}{fmt(top.p99_ms):>12}"
            f"{fmt(paced.p99_ms):>13}{fmt(paced.p50_ms):>13}{seen:>16,}{others:>8.0%}"
        )
        report.others += [top.others, paced.others]
    if len(results) == 2 and all("max" in r.phases and "rate" in r.phases for r in results):
        idle, busy = results
        before, after = (
            idle.phases["max"].accepted_per_second,
            busy.phases["max"].accepted_per_second,
        )
        report.target(
            f"ingest with {busy.dashboards} dashboards >= {1 - MAX_DROP:.0%} of without",
            f"{after:,.0f}/s vs {before:,.0f}/s ({after / before - 1:+.1%})",
            after >= (1 - MAX_DROP) * before,
        )
        p99_idle, p99_busy = idle.phases["rate"].p99_ms, busy.phases["rate"].p99_ms
        report.target(
            f"p99 at {args.dashboard_rate:.0f}/s, {busy.dashboards} dashboards: +10 % or 5 ms",
            f"{fmt(p99_busy)} ms vs {fmt(p99_idle)} ms",
            p99_busy <= max(p99_idle * (1 + MAX_DROP), p99_idle + 5.0),
        )
