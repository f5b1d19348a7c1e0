"""Signed Kick chat webhooks through the split web server: gunicorn + PostgreSQL + Redis.

Set-up (untimed): a migrated PostgreSQL database with one guild tracking the broadcaster, an
empty Redis, and distinct chat webhooks signed with a throwaway key (every
``Kick-Event-Message-Id`` and chat ``message_id`` different, ``created_at`` = now), built into
complete HTTP requests. Signing is RSA-2048 (about 1 ms each), so it is done before anything is
timed, on every core.

For each gunicorn configuration Redis is emptied (so the same signed requests are new again: no
replay-guard or dedupe key, an empty stream), gunicorn is started, and then:

1. warm-up: a few hundred requests closed-loop (checked, not reported);
2. max throughput: ``count`` requests closed-loop on ``concurrency`` keep-alive connections;
3. fixed rate: requests open-loop at ``rate`` per second.

Every answer must be ``200 {"status": "queued"}`` and the stream ``sk:events`` must grow by
exactly the number sent; anything else is reported as broken. CPU time of the load generator,
the gunicorn processes and redis-server is read from /proc around each timed part.

:func:`cost_ladder` and :func:`receiver_breakdown` split the cost per request (see
:mod:`benchmarks.reference_app`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from benchmarks import loadgen
from benchmarks.signed_requests import split_request
from benchmarks.system import CpuSample, OtherLoad, children, cpu_seconds, find_processes
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "kick" / "chat.message.sent.json"
BROADCASTER_ID = "123456789"
GUILD_ID = 987654321098765432
STREAM = "sk:events"
HOST = "127.0.0.1"
APP = "core.wsgi:create_app()"


@dataclass(frozen=True)
class ServerConfig:
    """One way to run gunicorn: ``worker_class`` sync or gthread, ``workers`` x ``threads``;
    ``reuse_port``: each worker listens on its own SO_REUSEPORT socket, so the kernel spreads
    connections over the workers (otherwise whichever worker wakes first accepts them)."""

    worker_class: str
    workers: int
    threads: int = 1
    reuse_port: bool = False

    @classmethod
    def parse(cls, text: str) -> ServerConfig:
        """``sync:4``, ``gthread:2x4`` (workers x threads), either with ``+reuse-port``."""
        spec, plus, option = text.partition("+")
        kind, _, size = spec.partition(":")
        workers, _, threads = size.partition("x")
        if (
            kind not in ("sync", "gthread")
            or not workers.isdigit()
            or not (threads or "1").isdigit()
            or (plus and option != "reuse-port")
        ):
            raise ValueError(
                f"not a gunicorn configuration: {text!r} (sync:4, gthread:2x4, +reuse-port)"
            )
        return cls(kind, int(workers), int(threads or 1), bool(plus))

    @property
    def label(self) -> str:
        label = f"{self.worker_class} -w {self.workers}"
        if self.worker_class == "gthread":
            label += f" --threads {self.threads}"
        return label + (" --reuse-port" if self.reuse_port else "")

    def args(self) -> list[str]:
        args = ["-w", str(self.workers), "-k", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args + (["--reuse-port"] if self.reuse_port else [])


@dataclass
class Phase:
    """One timed run against one server: the answers, checks and where the CPU went."""

    name: str
    run: loadgen.Run
    stream_growth: int | None = None
    accepted: int = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0  # share of both cores busy, 0..1
    steal: float = 0.0  # share of both cores taken by the hypervisor, 0..1
    others: float = 0.0  # share of both cores used by processes not part of the benchmark
    busiest_worker: float = 0.0  # the busiest gunicorn worker's share of the workers' CPU
    problems: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.run.count

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.run.wall_seconds if self.run.wall_seconds else 0.0

    def cpu_us(self, who: str) -> float:
        """CPU microseconds per request spent by ``who``."""
        return self.cpu_seconds.get(who, 0.0) / max(self.sent, 1) * 1e6

    def ms(self, fraction: float) -> float:
        return self.run.percentile(fraction) * 1000


@dataclass
class ConfigResult:
    config: ServerConfig
    phases: dict[str, Phase] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# --- gunicorn --------------------------------------------------------------------------------


def server_env(settings: Mapping[str, str], port: int) -> dict[str, str]:
    """The process environment minus anything StreamKeeper reads, plus ``settings``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("KICK_", "DISCORD_", "DATABASE_", "REDIS_", "PORT", "HOST", "WEB_", "LOG_")
        )
    }
    env.update(settings)
    env.update(PYTHONPATH=str(ROOT), HOST=HOST, PORT=str(port))
    return env


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def gunicorn(
    config: ServerConfig, app: str, settings: Mapping[str, str], workdir: Path
) -> Iterator[Gunicorn]:
    """gunicorn serving ``app`` on a free loopback port, stopped (SIGTERM) afterwards."""
    port = free_port()
    log_path = workdir / f"gunicorn-{port}.log"
    # The deployment's own config: metrics in multiprocess mode, as in production.
    command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")]
    command += ["-b", f"{HOST}:{port}", *config.args(), app]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            env=server_env(settings, port),
            cwd=workdir,  # not the repository: no .env is read from there
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(process, port, log_path)
    try:
        _wait_until_ready(server, config.workers)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_ready(server: Gunicorn, workers: int, timeout: float = 60) -> None:
    """Every worker booted and ``GET /health`` (or any answer, for reference apps) came back."""
    url = f"http://{HOST}:{server.port}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        answered = False
        try:
            with urllib.request.urlopen(url, timeout=2):
                answered = True
        except urllib.error.HTTPError:
            answered = True  # a reference app without /health: it answers, that will do
        except (urllib.error.URLError, OSError):
            pass
        if answered and len(children(server.process.pid)) >= workers:
            time.sleep(0.5)  # let the last workers finish their start-up
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn was not ready within {timeout:.0f} s:\n{server.log_tail()}")


# --- measuring -------------------------------------------------------------------------------


def _check_answers(phase: Phase, expected: str = "queued") -> None:
    run = phase.run
    outcomes: dict[str, int] = {}
    for status, body in zip(run.statuses, run.bodies, strict=True):
        outcome = "no answer"
        if status:
            try:
                outcome = f"{status} {json.loads(body).get('status')}"
            except (ValueError, AttributeError):
                outcome = f"{status} (not a JSON object)"
        if outcome == f"200 {expected}":
            phase.accepted += 1
        else:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        phase.problems.append(
            f"{phase.name}: answers other than 200 {expected}: "
            + ", ".join(f"{n} x {what}" for what, n in sorted(outcomes.items()))
        )
    if run.errors:
        phase.problems.append(
            f"{phase.name}: {len(run.errors)} request error(s), first: {run.errors[0]}"
        )
    if phase.stream_growth is not None and phase.stream_growth != phase.sent:
        phase.problems.append(
            f"{phase.name}: sent {phase.sent}, the stream grew by {phase.stream_growth}"
            f" ({phase.sent - phase.stream_growth} lost)"
        )


def measure_phase(
    name: str,
    server: Gunicorn,
    send: Callable[[], loadgen.Run],
    *,
    redis_client: redis.Redis | None,
    redis_pids: Sequence[int],
) -> Phase:
    """Run ``send`` and check it; with ``redis_client``, also count what reached the stream."""
    before = int(redis_client.xlen(STREAM)) if redis_client is not None else 0
    server_pids = server.pids()
    workers = server_pids[1:]
    cpu_before = (cpu_seconds(server_pids), cpu_seconds(redis_pids), CpuSample.now())
    workers_before = [cpu_seconds([pid]) for pid in workers]
    others = OtherLoad()
    run = send()
    others_share = others.share()
    cpu_after = (cpu_seconds(server_pids), cpu_seconds(redis_pids), CpuSample.now())
    workers_used = [cpu_seconds([pid]) - b for pid, b in zip(workers, workers_before, strict=True)]
    phase = Phase(name, run)
    if redis_client is not None:
        phase.stream_growth = int(redis_client.xlen(STREAM)) - before
    phase.cpu_seconds = {
        "gunicorn": cpu_after[0] - cpu_before[0],
        "redis": cpu_after[1] - cpu_before[1],
        "load generator": run.client_cpu_seconds,
    }
    phase.busy, phase.steal = cpu_after[2].busy_and_steal_since(cpu_before[2])
    phase.others = others_share
    if sum(workers_used) > 0:
        phase.busiest_worker = max(workers_used) / sum(workers_used)
    _check_answers(phase)
    return phase


def measure_config(
    config: ServerConfig,
    *,
    settings: Mapping[str, str],
    workdir: Path,
    warmup: Sequence[bytes],
    burst: Sequence[bytes],
    paced: Sequence[bytes],
    concurrency: int,
    rate: float,
) -> ConfigResult:
    """Warm-up, max throughput and fixed rate against StreamKeeper on one configuration."""
    result = ConfigResult(config)
    redis_url = settings["REDIS_URL"]
    client = redis.Redis.from_url(redis_url)
    redis_pids = find_processes("redis-server", f":{redis_url.rsplit(':', 1)[1].split('/')[0]}")
    try:
        client.flushall()  # the same signed requests are new again
        with gunicorn(config, APP, settings, workdir) as server:
            port = server.port
            phases: list[tuple[str, Callable[[], loadgen.Run]]] = [
                ("warm-up", lambda: loadgen.closed_loop(HOST, port, warmup, concurrency=16)),
                ("max", lambda: loadgen.closed_loop(HOST, port, burst, concurrency=concurrency)),
                ("rate", lambda: loadgen.open_loop(HOST, port, paced, rate=rate)),
            ]
            for name, send in phases:
                phase = measure_phase(
                    name, server, send, redis_client=client, redis_pids=redis_pids
                )
                result.phases[name] = phase
                result.problems += [f"{config.label}: {problem}" for problem in phase.problems]
    finally:
        client.close()
    return result


@dataclass
class LadderStep:
    label: str
    accepted_per_second: float
    server_cpu_us: float
    others: float
    sent: int
    problems: list[str] = field(default_factory=list)


REFERENCE_APPS = (
    ("bare WSGI app on gunicorn", "benchmarks.reference_app:bare"),
    ("+ Flask view (jsonify)", "benchmarks.reference_app:flask"),
    ("+ redis-py SET NX, XADD", "benchmarks.reference_app:flask_redis"),
    ("StreamKeeper POST /webhooks/kick", APP),
    ("before: replay guard apart, 2 round trips", "benchmarks.reference_app:two_round_trips()"),
)


def cost_ladder(
    config: ServerConfig,
    *,
    settings: Mapping[str, str],
    workdir: Path,
    requests: Sequence[bytes],
    concurrency: int,
    what_if: bool = True,
) -> list[LadderStep]:
    """Max throughput and gunicorn CPU per request of the reference apps, same config.

    Redis is emptied before each app, so each app sees the requests as new.
    """
    steps = []
    warmup, measured = requests[:300], requests[300:]
    client = redis.Redis.from_url(settings["REDIS_URL"])
    try:
        for label, app in REFERENCE_APPS:
            if label.startswith("before") and not what_if:
                continue
            client.flushall()
            with gunicorn(config, app, settings, workdir) as server:
                port = server.port
                loadgen.closed_loop(HOST, port, warmup, concurrency=concurrency)
                phase = measure_phase(
                    label,
                    server,
                    lambda port=port: loadgen.closed_loop(
                        HOST, port, measured, concurrency=concurrency
                    ),
                    redis_client=None,
                    redis_pids=(),
                )
            steps.append(
                LadderStep(
                    label,
                    phase.accepted_per_second,
                    phase.cpu_us("gunicorn"),
                    phase.others,
                    phase.sent,
                    phase.problems,
                )
            )
    finally:
        client.close()
    return steps


@dataclass
class ReceiverStep:
    label: str
    cpu_us: float
    wall_us: float
    others: float


def receiver_breakdown(
    settings: Mapping[str, str], requests: Sequence[bytes]
) -> list[ReceiverStep]:
    """``KickWebhookReceiver.receive`` in this process, no HTTP, one thread, real Redis.

    Two halves of ``requests``: Redis stubbed out (the publish still encodes the event to
    JSON), then everything real. Each must be queued.
    """
    from core.config import load_settings
    from core.events import event_to_dict
    from core.runtime import Runtime

    runtime = Runtime(load_settings(dict(settings), env_file=None))
    try:
        assert runtime.redis is not None
        runtime.redis.flushall()
        receiver = runtime.kick_receiver
        real_publish = receiver.publish_delivery

        def encode_only(event: Any, message_id: str) -> bool:
            json.dumps(event_to_dict(event), separators=(",", ":"))
            return True

        half = len(requests) // 2
        variants = (
            ("checks, parse, routing; Redis stubbed", encode_only),
            ("+ publish_delivery (one EVALSHA)", real_publish),
        )
        steps = []
        for index, (label, publish) in enumerate(variants):
            receiver.publish_delivery = publish
            calls = [split_request(r) for r in requests[index * half : (index + 1) * half]]
            others = OtherLoad()
            wall, cpu = time.perf_counter(), time.process_time()
            outcomes = [receiver.receive(headers, body).outcome for headers, body in calls]
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            others_share = others.share()
            if set(outcomes) != {"queued"}:
                raise RuntimeError(f"receiver breakdown: {label}: outcomes {set(outcomes)}")
            steps.append(
                ReceiverStep(label, cpu / len(calls) * 1e6, wall / len(calls) * 1e6, others_share)
            )
        receiver.publish_delivery = real_publish
        return steps
    finally:
        runtime.close()


def register_guild(settings: Mapping[str, str]) -> None:
    """Migrate and register the guild that tracks the benchmark's broadcaster."""
    from core.config import load_settings
    from core.runtime import Runtime

    runtime = Runtime(load_settings(dict(settings), env_file=None))
    try:
        runtime.migrate()
        runtime.guilds.set_kick_channel(GUILD_ID, "benchstreamer", BROADCASTER_ID)
    finally:
        runtime.close()
