"""One watchtime tick for a guild with N present viewers, on PostgreSQL and SQLite.

Set-up (untimed, not through the service): ``viewers`` and ``watch_presence`` rows for N viewers
of one guild, bulk-inserted in batches, the channel marked live, then ``ANALYZE`` (as autovacuum
would do after such a load). A first tick sets the guild's clock. Then:

- **insert path**: each run deletes the guild's ``watchtime`` rows first (untimed; PostgreSQL
  also ``VACUUM ANALYZE``s the table, so dead rows from the previous run do not count), so the
  tick inserts N new rows;
- **upsert path**: the rows exist, so the tick adds the seconds to each of them.

Each timed call is ``WatchtimeService.tick(guild_id, now)`` with ``now`` 10 s later than the
previous tick (all within the 5-minute active window, so every viewer stays present), measured
around the call. Each tick must credit exactly N viewers, or the run is reported as broken.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from benchmarks.system import OtherLoad
from core.config import WatchtimeSettings
from core.features.guilds.service import GuildService
from core.features.schema import migrate
from core.features.viewers.tables import viewers
from core.features.watchtime import repository
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watch_presence, watch_streams, watchtime
from core.storage import db

GUILD_ID = 876543210987654321
BROADCASTER_ID = "123456789"
BATCH = 5_000
STEP = timedelta(seconds=10)


@dataclass
class TickFigures:
    backend: str
    viewers: int
    setup_seconds: float = 0.0
    insert_seconds: list[float] = field(default_factory=list)
    upsert_seconds: list[float] = field(default_factory=list)
    others: float = 0.0  # share of the cores used by other processes during the timed ticks
    problems: list[str] = field(default_factory=list)

    @property
    def insert_median(self) -> float:
        return statistics.median(self.insert_seconds) if self.insert_seconds else float("nan")

    @property
    def upsert_median(self) -> float:
        return statistics.median(self.upsert_seconds) if self.upsert_seconds else float("nan")


@contextmanager
def postgres_database(server_url: str, template_url: str | None = None) -> Iterator[str]:
    """A new database on the throwaway server, empty or a copy of ``template_url``'s; dropped
    afterwards."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"sk_bench_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{template_url.rsplit("/", 1)[1]}"' if template_url else ""
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fill(engine: Engine, count: int, active_at: datetime) -> None:
    with engine.begin() as conn:
        for start in range(0, count, BATCH):
            ids = [str(1_000_000 + i) for i in range(start, min(start + BATCH, count))]
            conn.execute(
                viewers.insert(),
                [
                    {
                        "platform": "kick",
                        "platform_user_id": user_id,
                        "username": f"viewer_{user_id}",
                        "updated_at": active_at,
                    }
                    for user_id in ids
                ],
            )
            conn.execute(
                watch_presence.insert(),
                [
                    {
                        "guild_id": GUILD_ID,
                        "platform": "kick",
                        "broadcaster_user_id": BROADCASTER_ID,
                        "platform_user_id": user_id,
                        "last_active_at": active_at,
                    }
                    for user_id in ids
                ],
            )
        conn.execute(
            watch_streams.insert().values(
                guild_id=GUILD_ID,
                platform="kick",
                broadcaster_user_id=BROADCASTER_ID,
                is_live=True,
                changed_at=active_at - timedelta(hours=1),
            )
        )
    _maintain(engine, "ANALYZE")


def _maintain(engine: Engine, command: str) -> None:
    """ANALYZE or VACUUM ANALYZE, outside a transaction (VACUUM cannot run inside one)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(command))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


def _timed_tick(service: WatchtimeService, now: datetime, count: int, figures: TickFigures):
    started = time.perf_counter()
    result = service.tick(GUILD_ID, now)
    elapsed = time.perf_counter() - started
    if result.credited_viewers != count:
        figures.problems.append(
            f"{figures.backend} {count:,}: a tick credited {result.credited_viewers:,} viewers"
        )
    return elapsed


def measure(engine: Engine, backend: str, count: int, runs: int) -> TickFigures:
    """Tick timings for ``count`` present viewers on a migrated, empty database."""
    figures = TickFigures(backend, count)
    start = datetime.now(UTC).replace(microsecond=0)
    service = WatchtimeService(engine, WatchtimeSettings(), clock=lambda: start)
    GuildService(engine, clock=lambda: start).set_kick_channel(GUILD_ID, "bench", BROADCASTER_ID)

    began = time.perf_counter()
    _fill(engine, count, active_at=start - timedelta(seconds=1))
    figures.setup_seconds = time.perf_counter() - began

    others = OtherLoad()
    now = start
    first = service.tick(GUILD_ID, now)  # sets the clock, credits nothing
    if first.credited_viewers:
        figures.problems.append(f"{backend} {count:,}: the first tick credited viewers")
    for _ in range(runs):
        with engine.begin() as conn:
            conn.execute(sa.delete(watchtime).where(watchtime.c.guild_id == GUILD_ID))
        _maintain(engine, "VACUUM ANALYZE watchtime")
        now += STEP
        figures.insert_seconds.append(_timed_tick(service, now, count, figures))
    for _ in range(runs):
        now += STEP
        figures.upsert_seconds.append(_timed_tick(service, now, count, figures))
    figures.others = others.share()
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count(), sa.func.min(watchtime.c.seconds)).where(
                watchtime.c.guild_id == GUILD_ID
            )
        ).one()
    expected = (runs + 1) * int(STEP.total_seconds())
    if tuple(total) != (count, expected):
        figures.problems.append(
            f"{backend} {count:,}: expected {count:,} rows of {expected} s, found {tuple(total)}"
        )
    return figures


def run_postgres(server_url: str, count: int, runs: int, *, former: bool = False):
    """On a new database; ``former``: the tick as it was before migration 0008, for comparison
    under the same load (see :func:`former_tick`)."""
    with postgres_database(server_url) as url:
        engine = db.create_engine(url)
        try:
            migrate(engine)
            if not former:
                return measure(engine, "PostgreSQL", count, runs)
            with former_tick(engine):
                return measure(engine, "PG former", count, runs)
        finally:
            engine.dispose()


@contextmanager
def former_tick(engine: Engine) -> Iterator[None]:
    """The tick before migration 0008: ``watchtime`` with its ``(guild_id, seconds)`` index and
    full pages, credited by one ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``.
    Every update then adds index entries and moves its row to another page."""
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE watchtime RESET (fillfactor)"))
        conn.execute(
            sa.text("CREATE INDEX ix_watchtime_guild_id_seconds ON watchtime (guild_id, seconds)")
        )
    current = repository.credit_present_viewers
    repository.credit_present_viewers = _former_credit
    try:
        yield
    finally:
        repository.credit_present_viewers = current


def _former_credit(
    conn: Connection, guild_id: int, active_since: datetime, seconds: int, now: datetime
) -> int:
    present = repository._present_viewers(guild_id, active_since, now)
    grouped = present.group_by(*present.selected_columns).subquery()
    source = sa.select(
        sa.literal(guild_id, watchtime.c.guild_id.type),
        grouped.c.platform,
        grouped.c.platform_user_id,
        sa.literal(seconds, watchtime.c.seconds.type),
        sa.literal(now, watchtime.c.last_seen.type),
    )
    stmt = postgresql.insert(watchtime).from_select(
        ["guild_id", "platform", "platform_user_id", "seconds", "last_seen"], source
    )
    result = conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(watchtime.primary_key.columns),
            set_={
                "seconds": watchtime.c.seconds + stmt.excluded.seconds,
                "last_seen": stmt.excluded.last_seen,
            },
        ),
        execution_options={"preserve_rowcount": True},
    )
    return result.rowcount


def run_sqlite(folder: Path, count: int, runs: int) -> TickFigures:
    path = folder / f"watchtime-{count}.sqlite3"
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        return measure(engine, "SQLite", count, runs)
    finally:
        engine.dispose()
