"""Two ``core bot`` processes over PostgreSQL and Redis; one is killed with SIGKILL while a
backend of its holds its guilds' watchtime clocks locked in a slow statement. The survivor's
guilds keep ticking (never 10 s without a tick), through the takeover that hands it the dead
process's locked guilds too; once PostgreSQL ends that transaction, those guilds tick as well.

The dead process's backend is a helper process of this test: it locks the dead bot's guilds'
clocks in a transaction (as the bot's tick does), then sleeps in a statement, and is killed
with the bot. It connects as the bots did before they set a connection check (no session
timeouts): its backend keeps the locks until this test terminates it, which is the worst
case; with the bot's own settings PostgreSQL ends such a backend within seconds
(``tests/storage/test_timeouts.py``).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.demo import BROADCASTER_ID, CHANNEL
from core.events import system_clock
from core.features.guilds.service import GuildService
from core.ownership.share import PARTITIONS, partition_of
from tests.test_durability import BOT, GUILD, Process, _wait_for_health, split_deployment

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GUILDS = [int(GUILD) + n * (1 << 22) for n in range(2 * PARTITIONS)]  # two per partition
TICK_GAP_SECONDS = 10.0  # the longest a living process's guild may go without a tick
WATCH_SECONDS = 25.0  # after the kill: past the takeover (6 s lease + 2 s heartbeat)
BOUND_SECONDS = 60.0  # a hang, not a measurement

_HOLDER = """
import sys
import psycopg
guilds = [int(g) for g in sys.argv[2].split(",")]
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute(
        "UPDATE watch_settings SET last_tick_seconds = last_tick_seconds WHERE guild_id = ANY(%s)",
        [guilds],
    )
    print(conn.info.backend_pid, flush=True)
    conn.execute("SELECT pg_sleep(600)")
"""


class TickWatch:
    """When (monotonic seconds) each guild's tick clock was seen to move."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(database_url)
        self.seen: dict[int, list[tuple[float, datetime]]] = {g: [] for g in GUILDS}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch)

    def __enter__(self) -> TickWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.engine.dispose()

    def _watch(self) -> None:
        query = sa.text("SELECT guild_id, last_tick_at FROM watch_settings")
        while not self.stop.is_set():
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            now = time.monotonic()
            for guild_id, tick_at in rows:
                seen = self.seen.get(guild_id)
                if seen is not None and tick_at is not None and (not seen or tick_at > seen[-1][1]):
                    seen.append((now, tick_at))
            self.stop.wait(0.05)

    def ticked_since(self, guild_id: int, moment: float) -> bool:
        return any(seen_at >= moment for seen_at, _ in self.seen[guild_id])

    def longest_gap(self, guild_id: int, start: float, end: float) -> float:
        """The longest stretch of [start, end] in which the guild's clock did not move."""
        moments = [start, *(m for m, _ in self.seen[guild_id] if start < m < end), end]
        return max(b - a for a, b in itertools.pairwise(moments))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {BOUND_SECONDS} s: {what}")


def partitions_of(engine: sa.Engine, pid: int) -> set[int]:
    """The partitions the bot process ``pid`` holds (its name carries its pid)."""
    query = sa.text(
        "SELECT name, holder FROM leases WHERE name LIKE 'partition:%' AND expires_at > :now"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"now": datetime.now(UTC)}).all()
    return {int(name.split(":")[1]) for name, holder in rows if f"-{pid}-" in holder}


def backend_alive(engine: sa.Engine, pid: int) -> bool:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        return bool(conn.execute(query, {"pid": pid}).scalar_one())


def test_a_killed_bots_locked_guilds_hold_up_none_of_the_survivors(tmp_path, kick_keys):
    with split_deployment(tmp_path, kick_keys) as split:
        engine = sa.create_engine(split.database_url)
        guilds = GuildService(engine, system_clock)
        for guild_id in GUILDS[1:]:
            guilds.set_kick_channel(guild_id, CHANNEL, BROADCASTER_ID)
        env = split.experiment.env
        for name in ("bot-a", "bot-b"):
            split.processes[name] = Process(env, BOT, tmp_path / f"{name}.log")
        _wait_for_health(split.experiment.url)
        dying, living = split.processes["bot-a"], split.processes["bot-b"]
        try:
            with TickWatch(split.database_url) as ticks:
                _kill_and_watch(split.database_url, engine, dying, living, ticks)
        finally:
            engine.dispose()


def _kill_and_watch(database_url, engine, dying: Process, living: Process, ticks) -> None:  # type: ignore[no-untyped-def]
    wait_until(
        lambda: (
            len(partitions_of(engine, dying.popen.pid)) == PARTITIONS // 2
            and len(partitions_of(engine, living.popen.pid)) == PARTITIONS // 2
        ),
        "the two bots share the partitions",
    )
    started = time.monotonic()
    wait_until(lambda: all(ticks.ticked_since(g, started) for g in GUILDS), "every guild ticks")
    theirs = partitions_of(engine, dying.popen.pid)
    dead_guilds = [g for g in GUILDS if partition_of(g) in theirs]
    own_guilds = [g for g in GUILDS if g not in dead_guilds]

    url = sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(False)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(  # the dead bot's backend: its guilds' clocks locked
        [sys.executable, "-c", _HOLDER, url, ",".join(map(str, dead_guilds))],
        stdout=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        assert holder.stdout is not None
        backend = int(holder.stdout.readline())
        dying.kill()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=BOUND_SECONDS)
        killed_at = time.monotonic()
        wait_until(
            lambda: len(partitions_of(engine, living.popen.pid)) == PARTITIONS, "the takeover"
        )
        time.sleep(max(0.0, killed_at + WATCH_SECONDS - time.monotonic()))
        watched_until = time.monotonic()

        assert backend_alive(engine, backend)  # the locks were held all along
        gaps = {g: ticks.longest_gap(g, killed_at, watched_until) for g in own_guilds}
        late = {g: round(gap, 1) for g, gap in gaps.items() if gap > TICK_GAP_SECONDS}
        assert not late, f"the survivor's guilds went this long (s) without a tick: {late}"
        assert not any(ticks.ticked_since(g, killed_at + 1) for g in dead_guilds)

        with engine.connect() as conn:  # as the connection check would have, at once
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        ended_at = time.monotonic()
        wait_until(
            lambda: all(ticks.ticked_since(g, ended_at) for g in dead_guilds),
            "the taken-over guilds tick once their clocks are free",
        )
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=BOUND_SECONDS)
        if holder.stdout is not None:
            holder.stdout.close()
