"""The raffle's end on a big guild: the bot process's memory through a tick and a close, the
close itself and the draw after it (see benchmarks/raffle.py for the method).

Set-up (bulk SQL, untimed): ``participants`` viewers of the watchtime benchmark's guild, all
present in a live stream (``benchmarks.watchtime._fill``) and linked to Discord members, an
open period whose ledger has ``ledger_rows`` rows spread over them (balances summed from it),
and watchtime 10 s short of a full hour each.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import timedelta

import psycopg.sql
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks import watchtime as tick_bench
from benchmarks.raffle import FIRST_USER, NOW, Figures, _open_period, _runs, _timed
from core.config import RaffleSettings
from core.features.guilds.service import GuildService
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.service import RaffleService

BENCH_SECRET = secrets.token_hex(16)  # a run's own link secret: keys the raffle's admin pseudonyms

GUILD = tick_bench.GUILD_ID
STEP = timedelta(seconds=10)


def fill(engine: Engine, participants: int, ledger_rows: int) -> int:
    """The big guild (see the module's doc); returns the open period's id."""
    GuildService(engine, clock=lambda: NOW).set_kick_channel(
        GUILD, "bench", tick_bench.BROADCASTER_ID
    )
    tick_bench._fill(engine, participants, active_at=NOW - timedelta(seconds=1))
    period = _open_period(engine, GUILD)
    params = {"g": GUILD, "p": period.id, "first": FIRST_USER, "n": participants}
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO account_links (platform, platform_user_id, discord_user_id, "
                "username, linked_in_guild_id, linked_at) SELECT 'kick', (:first + i)::text, "
                "5000000000 + i, 'viewer_' || i, :g, now() FROM generate_series(0, :n - 1) i"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, "
                "amount, source, source_ref, actor_id, reason, created_at) "
                "SELECT :g, :p, 'kick', (:first + i % :n)::text, 1 + i % 7, 'admin', "
                "'bench:' || i, 42, 'bench ü', now() - make_interval(secs => i) "
                "FROM generate_series(0, :rows - 1) i"
            ),
            params | {"rows": ledger_rows},
        )
        conn.execute(
            sa.text(
                "INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, "
                "tickets) SELECT period_id, platform, platform_user_id, guild_id, sum(amount) "
                "FROM raffle_ledger WHERE period_id = :p GROUP BY 1, 2, 3, 4"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds) "
                "SELECT :g, 'kick', (:first + i)::text, 3590 FROM generate_series(0, :n - 1) i"
            ),
            params,
        )
    tick_bench._maintain(engine, "VACUUM ANALYZE")
    return period.id


def memory(database_url: str, participants: int) -> dict:
    """Run ``python -m benchmarks.raffle_memory`` (a fresh process, as the bot is) and return
    what it printed: RSS after its imports, and the peak through the tick and the close."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.raffle_memory", database_url, str(GUILD),
         NOW.isoformat(), str(participants)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise AssertionError(f"the memory run failed: {completed.stderr.strip()[-500:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def close_and_draw(engine: Engine, period_id: int, runs: int, participants: int):
    """The close (``RafflePeriods.end``: last conversion, eligible participants, the streamed
    snapshot hash) timed ``runs`` times: between runs the period is set open again (untimed).
    Bare: reading the ledger's rows once through a server-side cursor, nothing done with them.
    Then the draw: a forced draw of one winner (``RaffleDraws.complete``) per run. Bare: one
    seek in the ticket ranges the close stored, in its own transaction (the draw's floor: it
    no longer reads a row per participant)."""
    raffle = RaffleService(
        engine, RaffleSettings(), clock=lambda: NOW + 2 * STEP, actor_secret=BENCH_SECRET
    )
    digests: set[str] = set()

    def close(run: int) -> float:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE raffle_periods SET status = 'open', closed_at = NULL, "
                    "snapshot_hash = NULL, eligible = NULL WHERE id = :p"
                ),
                {"p": period_id},
            )
            conn.execute(
                sa.text("DELETE FROM raffle_frozen_ranges WHERE period_id = :p"), {"p": period_id}
            )
        tick_bench._maintain(engine, "VACUUM ANALYZE raffle_frozen_ranges")
        elapsed, closing = _timed(lambda: raffle.periods.end(GUILD))
        digests.add(closing.period.snapshot_hash)
        if len(closing.period.eligible) != participants:
            raise AssertionError(f"{len(closing.period.eligible)} eligible, not {participants}")
        return elapsed

    def read_ledger(run: int) -> float:
        query = sa.text("SELECT * FROM raffle_ledger WHERE period_id = :p ORDER BY id")

        def read() -> int:
            count = 0
            with engine.connect() as conn:
                result = conn.execute(
                    query, {"p": period_id}, execution_options={"yield_per": 20_000}
                )
                for rows in result.partitions():
                    count += len(rows)
            return count

        return _timed(read)[0]

    def copy_ledger(run: int) -> float:
        statement = psycopg.sql.SQL(
            "COPY (SELECT * FROM raffle_ledger WHERE period_id = {} ORDER BY id) TO STDOUT"
        ).format(psycopg.sql.Literal(period_id))

        def read() -> None:
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                with raw.cursor() as cursor, cursor.copy(statement) as copy:
                    for _ in copy:
                        pass

        return _timed(read)[0]

    closing = _runs(Figures("close (freeze + snapshot hash)", "s"), runs, close, read_ledger)
    # The close reads the ledger as COPY text: that read alone, beside the cursor's.
    copying = _runs(
        Figures("ledger read, COPY (bare: cursor)", "s"), runs, copy_ledger, read_ledger
    )
    if len(digests) != 1:
        raise AssertionError("the same ledger hashed differently")

    def draw(run: int) -> float:
        with engine.begin() as conn:
            draw_id = draws_repository.create_draw(
                conn, guild_id=GUILD, period_id=period_id, winners_wanted=1, prize="",
                requested_by=1, now=NOW,
            )  # fmt: skip
        elapsed, done = _timed(lambda: raffle.draws.complete(draw_id, forced_by=1))
        if done.status != "done" or len(done.winners) != 1:
            raise AssertionError(f"draw #{draw_id} ended {done.status}")
        return elapsed

    def seek_range(run: int) -> float:
        query = sa.text(
            "SELECT platform, platform_user_id, range_end, tickets FROM raffle_frozen_ranges "
            "WHERE period_id = :p AND range_end > :t ORDER BY range_end LIMIT 1"
        )

        def seek() -> None:
            with engine.begin() as conn:
                conn.execute(query, {"p": period_id, "t": run * 7919}).one()

        return _timed(seek)[0]

    drawing = _runs(Figures(f"draw, {participants:,} participants", "s"), runs, draw, seek_range)
    return closing, copying, drawing
