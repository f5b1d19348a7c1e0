"""What the machine is and what its CPUs did: versions, /proc CPU times, steal."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes (all their threads), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def find_processes(name: str, marker: str) -> list[int]:
    """Pids whose command line contains both ``name`` and ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if name in cmdline and marker in cmdline:
            found.append(int(entry.name))
    return found


def all_process_cpu() -> dict[int, float]:
    """CPU seconds so far of every process on the machine, by pid."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            table[int(entry.name)] = cpu_seconds([int(entry.name)])
    return table


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


_extra_roots: list[int] = []


def count_as_ours(pids: Sequence[int]) -> None:
    """Processes (and their children) that are part of the benchmark without being our
    children: the PostgreSQL server, which ``pg_ctl`` detaches."""
    _extra_roots.extend(pids)


def our_pids() -> set[int]:
    roots = [os.getpid(), *_extra_roots]
    return {*roots, *(pid for root in roots for pid in descendants(root))}


class OtherLoad:
    """CPU used by processes that are not part of the benchmark, between two points in time.

    Ours are this process, its children (gunicorn, redis-server, signing processes) and what
    :func:`count_as_ours` named; everything else (another test run on the same machine, kernel
    threads) is other load.
    """

    def __init__(self, ours: Callable[[], set[int]] = our_pids) -> None:
        self.ours = ours
        self.before = all_process_cpu()
        self.started = time.monotonic()

    def share(self) -> float:
        """Share of all cores used by other processes since construction, 0..1."""
        after, ours = all_process_cpu(), self.ours()
        used = sum(
            max(0.0, cpu - self.before.get(pid, 0.0))
            for pid, cpu in after.items()
            if pid not in ours
        )
        wall = time.monotonic() - self.started
        return used / (wall * (os.cpu_count() or 1)) if wall > 0 else 0.0


@dataclass(frozen=True)
class CpuSample:
    """System-wide CPU jiffies from the first line of /proc/stat."""

    total: int
    idle: int
    steal: int

    @classmethod
    def now(cls) -> CpuSample:
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return cls(0, 0, 0)
        # user nice system idle iowait irq softirq steal guest guest_nice; guests are in user.
        total = sum(values[:8])
        return cls(total, values[3] + values[4], values[7])

    def busy_and_steal_since(self, earlier: CpuSample) -> tuple[float, float]:
        """Share of all cores that was busy, and that the hypervisor took (steal), 0..1."""
        total = self.total - earlier.total
        if total <= 0:
            return 0.0, 0.0
        return (
            (total - (self.idle - earlier.idle)) / total,
            (self.steal - earlier.steal) / total,
        )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe_machine() -> list[str]:
    packages = ("gunicorn", "Flask", "redis", "SQLAlchemy", "psycopg", "cryptography")
    return [
        f"machine: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}",
        f"python {sys.version.split()[0]}; "
        + ", ".join(f"{name} {package_version(name)}" for name in packages),
    ]
