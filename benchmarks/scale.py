"""Many guilds (issue 26, "tick cost"): the watchtime tick of every guild for one instant, with
G guilds of V present viewers each, on PostgreSQL; and the bot CPU it takes per guild.

Set-up (untimed): G guilds each following its own channel (live), V viewers present in each,
the guilds' clocks one interval back. Timed: ``WatchtimeService.tick_many(guilds, T)``, as the
scheduler's ``GuildTicks`` does when nothing is queued (batches of 500 guilds, one transaction
each), and for comparison ``tick(guild, T)`` guild by guild (the former round). The figures are the
wall time of the round and this process's CPU time (``time.process_time``) per guild: the
database's own work is in the wall time, not in the CPU figure. Target: at most 0.5 ms of bot
CPU per guild, and the round inside the 60 s interval.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from benchmarks.watchtime import postgres_database
from core.config import WatchtimeSettings
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watch_presence, watch_settings, watch_streams
from core.storage.db import create_engine, migrate

T = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
TARGET_CPU_MS_PER_GUILD = 0.5
INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class ScaleFigures:
    guilds: int
    viewers_each: int
    setup_seconds: float
    wall_seconds: float
    cpu_ms_per_guild: float
    credited: int

    @property
    def meets_cpu(self) -> bool:
        return self.cpu_ms_per_guild <= TARGET_CPU_MS_PER_GUILD

    @property
    def inside_interval(self) -> bool:
        return self.wall_seconds < INTERVAL_SECONDS


def _fill(engine: sa.Engine, guilds: int, viewers_each: int) -> None:
    with engine.begin() as conn:
        for first in range(0, guilds, 500):
            ids = range(first, min(first + 500, guilds))
            conn.execute(
                watch_streams.insert(),
                [
                    {
                        "guild_id": 10_000 + g,
                        "platform": "kick",
                        "broadcaster_user_id": f"b{g}",
                        "is_live": True,
                        "changed_at": T - timedelta(hours=1),
                    }
                    for g in ids
                ],
            )
            conn.execute(
                watch_settings.insert(),
                [{"guild_id": 10_000 + g, "last_tick_at": T - timedelta(minutes=1)} for g in ids],
            )
            conn.execute(
                watch_presence.insert(),
                [
                    {
                        "guild_id": 10_000 + g,
                        "platform": "kick",
                        "broadcaster_user_id": f"b{g}",
                        "platform_user_id": f"v{g}-{v}",
                        "last_active_at": T - timedelta(seconds=30),
                    }
                    for g in ids
                    for v in range(viewers_each)
                ],
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))


def run(
    server_url: str, guilds: int, viewers_each: int, *, one_by_one: bool = False
) -> ScaleFigures:
    with postgres_database(server_url) as url:
        engine = create_engine(url)
        try:
            migrate(engine)
            started = time.perf_counter()
            _fill(engine, guilds, viewers_each)
            setup = time.perf_counter() - started
            service = WatchtimeService(engine, WatchtimeSettings(), lambda: T)
            guild_ids = [10_000 + g for g in range(guilds)]
            wall, cpu = time.perf_counter(), time.process_time()
            if one_by_one:
                results = [service.tick(guild_id, T) for guild_id in guild_ids]
            else:
                results = service.tick_many(guild_ids, T)
            credited = sum(result.credited_viewers for result in results)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            engine.dispose()
    return ScaleFigures(guilds, viewers_each, setup, wall, cpu * 1000 / max(guilds, 1), credited)
