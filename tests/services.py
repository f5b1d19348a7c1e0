"""Throwaway PostgreSQL and Redis servers on 127.0.0.1, started once per test session.

``make test`` installs the server binaries when they are missing. Set ``TEST_DATABASE_URL`` /
``TEST_REDIS_URL`` to use servers of your own instead. Without the binaries the tests that need
them are skipped, except under CI (``CI=true``), where a missing server fails the run.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis


class ServiceUnavailable(Exception):
    pass


MEMORY_FOLDER = Path("/dev/shm")


def _memory_folder() -> Path | None:
    """Where the session's PostgreSQL keeps its files: in memory (tmpfs) when the machine has
    one with room, else the temp folder. Every test gets a database of its own, a 10 MB copy of
    a template: on tmpfs a copy takes 28 ms against 183 ms on this machine's disk, and dropping
    it 9 ms against 73 (measured with 200 copies). The tests drop each copy when done, so the
    folder holds the template and the running test's databases."""
    try:
        free = shutil.disk_usage(MEMORY_FOLDER).free
    except OSError:
        return None
    return MEMORY_FOLDER if free > 2 * 1024**3 and os.access(MEMORY_FOLDER, os.W_OK) else None


# Ports for the servers and processes the tests start: each xdist worker takes its own block,
# below the kernel's ephemeral range (32768 and up), where port 0 binds and outgoing connections
# come from. A port handed out by binding port 0 and closing could be handed to another worker
# before our process bound it, and a test then talked to the other worker's server. Each
# process starts at a random place in its block: test sessions of other people on the same
# machine (a shared developer machine, CI) have workers of the same numbers, and a server that
# a test stops and starts again on its port (PostgreSQL's restart) found its port taken by the
# other session's gw0, which had counted up from the same first port.
_PORTS_FROM, _PORTS_PER_WORKER = 20_000, 1_500
_handed_out = itertools.count(random.SystemRandom().randrange(_PORTS_PER_WORKER))


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a server or process a test starts (or
    for a test that needs nobody to answer): this worker's next one that binds."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = _PORTS_FROM + (int(worker) % 8 if worker.isdecimal() else 0) * _PORTS_PER_WORKER
    for _ in range(_PORTS_PER_WORKER):
        port = first + next(_handed_out) % _PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise ServiceUnavailable(f"no free port from {first} to {first + _PORTS_PER_WORKER - 1}")


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise ServiceUnavailable(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _as_postgres_user() -> tuple[list[str], int | None, int | None]:
    """PostgreSQL refuses to run as root; under root, run it as the ``postgres`` user."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceUnavailable("running as root and there is no 'postgres' user") from exc
    return ["runuser", "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise ServiceUnavailable("PostgreSQL is not installed (initdb/pg_ctl not found)")
    prefix, uid, gid = _as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="sk-pg-", dir=_memory_folder()))
    if uid is not None:
        os.chown(root, uid, gid or -1)
    data, port = root / "data", free_port()
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", "streamkeeper", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
        "-c max_wal_size=256MB"  # each test's copy of the template passes through the WAL
    )
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        _wait_for_port(port)
        yield f"postgresql+psycopg://streamkeeper@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceUnavailable("Redis is not installed (redis-server not found)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


class RestartablePostgres:
    """A PostgreSQL server of a test's own, which the test may stop and start again (same port,
    same data). ``stop`` is an immediate shutdown: what it leaves is what a crash leaves."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise ServiceUnavailable("PostgreSQL is not installed (initdb/pg_ctl not found)")
        self.prefix, uid, gid = _as_postgres_user()
        self.root = Path(tempfile.mkdtemp(prefix="sk-pg-restart-"))
        if uid is not None:
            os.chown(self.root, uid, gid or -1)
        self.data, self.port = self.root / "data", free_port()
        command = [*self.prefix, self.initdb, "-D", str(self.data), "-U", "streamkeeper"]
        command += ["--auth=trust", "-E", "UTF8"]
        subprocess.run(command, check=True, capture_output=True)
        self.url = f"postgresql+psycopg://streamkeeper@127.0.0.1:{self.port}/postgres"
        self.log = str(self.root / "log")

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c max_connections=100"
        )
        command = [*self.prefix, self.pg_ctl, "-D", str(self.data), "-o", options]
        command += ["-l", self.log, "-w", "start"]
        subprocess.run(command, check=True, capture_output=True)
        _wait_for_port(self.port)

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def restartable_postgres() -> Iterator[RestartablePostgres]:
    server = RestartablePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


class RestartableRedis:
    """A Redis server of a test's own that keeps its data across a restart (append-only file,
    written on every command), on 127.0.0.1; stopped only by the PID it was started with."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise ServiceUnavailable("Redis is not installed (redis-server not found)")
        self.root = Path(tempfile.mkdtemp(prefix="sk-redis-restart-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = ["--dir", str(self.root), "--save", "", "--appendonly", "yes"]
        self.options += ["--appendfsync", "always"]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), *self.options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)
        self._check_it_is_ours()

    def _check_it_is_ours(self) -> None:
        """The server on the port is the one just started: when another test session took the
        port meanwhile, that session's server answers there, and ours exited at once."""
        process = self.process
        if process is None:
            raise ServiceUnavailable("redis-server is not running")
        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30) as client:
            answering = int(client.info("server")["process_id"])
        if answering != process.pid:
            self.stop()
            raise ServiceUnavailable(
                f"127.0.0.1:{self.port} is another Redis's (pid {answering}), not ours"
            )

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def restartable_redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()
