"""A small HTTP/1.1 load generator on plain asyncio, for pre-built requests.

The requests are complete HTTP/1.1 messages as bytes (headers, signature and body made before
the timed part), so the hot path is: write the bytes, wait for one response, note the time. A
response is parsed only as far as its status line, ``Content-Length`` and ``Connection: close``;
bodies are kept and checked after the run. Connections are kept alive and reused; when the
server closes one (gunicorn's sync workers answer ``Connection: close``) the next request opens
a new one, and that connect is part of its latency.

Two shapes:

- :func:`closed_loop`: ``concurrency`` connections, each sending its next request as soon as the
  previous answer arrived: the maximum throughput the server gives at that concurrency.
- :func:`open_loop`: requests are due at a fixed rate whatever the server does; latency is
  measured from when a request was *due*, so a stalled server cannot hide its queue
  (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field


@dataclass
class Run:
    """What one run did: per request index, the status (0: no answer), body and latency."""

    count: int
    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    connections_opened: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.statuses = [0] * self.count
        self.bodies = [b""] * self.count
        self.latencies = [float("nan")] * self.count

    @property
    def answered(self) -> int:
        return sum(1 for status in self.statuses if status)

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the answered requests' latencies, in seconds."""
        done = sorted(
            lat for lat, status in zip(self.latencies, self.statuses, strict=True) if status
        )
        if not done:
            return float("nan")
        rank = max(1, min(len(done), round(fraction * len(done) + 0.5)))
        return done[rank - 1]


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            self._complete()
        except ValueError as exc:  # not an HTTP/1.1 response we can read
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(ConnectionError(f"unreadable response: {exc}"))
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def _complete(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = 0
        start = head.find(b"\r\ncontent-length:")
        if start >= 0:
            stop = head.find(b"\r\n", start + 2)
            length = int(head[start + 17 : stop if stop >= 0 else None])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        status = int(head[9:12])
        waiter.set_result((status, body, b"\r\nconnection: close" in head))

    async def send(self, request: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


class _Client:
    def __init__(self, host: str, port: int, requests: Sequence[bytes], run: Run) -> None:
        self.host = host
        self.port = port
        self.requests = requests
        self.run = run

    async def worker(
        self,
        next_job: asyncio.Queue[tuple[int, float] | None] | None,
        jobs: Iterator[int] | None,
    ) -> None:
        """Send requests until there are none: from ``next_job`` (index, time the latency counts
        from; None ends), or else from ``jobs`` (indexes; latency counts from the send)."""
        loop = asyncio.get_running_loop()
        run = self.run
        conn: _Connection | None = None
        while True:
            if next_job is not None:
                job = await next_job.get()
                if job is None:
                    break
                index, counted_from = job
            else:
                index = next(jobs, None) if jobs is not None else None
                if index is None:
                    break
                counted_from = 0.0
            request = self.requests[index]
            if not counted_from:
                counted_from = time.perf_counter()
            try:
                if conn is None or conn.closed:
                    _, conn = await loop.create_connection(_Connection, self.host, self.port)
                    run.connections_opened += 1
                status, body, close = await conn.send(request)
            except (OSError, ConnectionError) as exc:
                run.errors.append(f"request {index}: {exc}")
                conn = None
                continue
            run.latencies[index] = time.perf_counter() - counted_from
            run.statuses[index] = status
            run.bodies[index] = body
            if close and conn.transport is not None:
                conn.transport.close()
                conn = None
        if conn is not None and conn.transport is not None:
            conn.transport.close()


async def _closed_loop(
    host: str, port: int, requests: Sequence[bytes], concurrency: int, run: Run
) -> None:
    client = _Client(host, port, requests, run)
    jobs = iter(range(len(requests)))
    await asyncio.gather(*(client.worker(None, jobs) for _ in range(concurrency)))


async def _open_loop(
    host: str, port: int, requests: Sequence[bytes], rate: float, connections: int, run: Run
) -> None:
    client = _Client(host, port, requests, run)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    workers = [asyncio.ensure_future(client.worker(queue, None)) for _ in range(connections)]
    started = time.perf_counter()
    for index in range(len(requests)):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((index, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)


def _timed(coro_factory, run: Run, timeout: float) -> Run:
    async def main() -> None:
        await asyncio.wait_for(coro_factory(), timeout)

    wall, cpu = time.perf_counter(), time.process_time()
    try:
        asyncio.run(main())
    except TimeoutError:
        run.errors.append(f"run did not finish within {timeout:.0f} s")
    run.wall_seconds = time.perf_counter() - wall
    run.client_cpu_seconds = time.process_time() - cpu
    return run


def closed_loop(
    host: str, port: int, requests: Sequence[bytes], *, concurrency: int, timeout: float = 120
) -> Run:
    """Send every request as fast as ``concurrency`` connections allow."""
    run = Run(len(requests))
    return _timed(lambda: _closed_loop(host, port, requests, concurrency, run), run, timeout)


def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    connections: int = 64,
    timeout: float = 120,
) -> Run:
    """Send request ``i`` at ``i / rate`` seconds after the start, on up to ``connections``."""
    run = Run(len(requests))
    return _timed(lambda: _open_loop(host, port, requests, rate, connections, run), run, timeout)
