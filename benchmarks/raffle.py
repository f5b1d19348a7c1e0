"""The raffle on PostgreSQL: ticket awards, watchtime conversion, the close and the draw, and
the bot process's memory through a tick and a close (issue 12).

Each target is timed in rounds interleaved with its bare baseline on the same server in the
same run (the floor for the same amount of database work without our checks; benchmarks/
interleave.py: bare and ours take turns, the one going first alternating), and reported as
medians, the ratio of ours to bare pair by pair, the load average (``os.getloadavg``) at the
start and the end and the CPU share other processes used while it ran. Set-up (bulk SQL,
untimed) is described per part below.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks import watchtime as tick_bench
from benchmarks.interleave import LoadAverage, interleave
from benchmarks.system import OtherLoad
from core.events import Platform
from core.features.raffle import awards_repository, ledger_repository
from core.features.raffle.awards_repository import TicketAward
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning import service as earning
from core.features.raffle.periods import repository as periods_repository

NOW = datetime.now(UTC).replace(microsecond=0)
FIRST_USER = 1_000_000  # viewers are str(FIRST_USER + i), as in benchmarks/watchtime.py
AWARD_GUILD = 4001
CONVERSION_GUILD = 4100  # + the crowd's index


@dataclass
class Figures:
    """One target: our figures and the bare baseline's, round by round (interleaved), with
    what was going on meanwhile."""

    what: str
    unit: str  # "/s" (higher is better) or "s"
    ours: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # ours over bare, pair by pair
    order: str = ""  # "AB BA ...": A the bare baseline, B ours
    load_start: LoadAverage = (math.nan, math.nan, math.nan)
    load_end: LoadAverage = (math.nan, math.nan, math.nan)
    others: float = 0.0
    note: str = ""

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours) if self.ours else float("nan")

    @property
    def bare_median(self) -> float:
        return statistics.median(self.bare) if self.bare else float("nan")

    @property
    def median_ratio(self) -> float:
        known = [ratio for ratio in self.ratios if not math.isnan(ratio)]
        return statistics.median(known) if known else float("nan")


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _runs(figures: Figures, runs: int, ours: Callable[[int], float], bare: Callable[[int], float]):
    """``runs`` rounds of each, interleaved: bare and ours take turns, the first alternating."""
    others = OtherLoad()
    found = interleave(bare, ours, runs)
    figures.others = others.share()
    figures.bare, figures.ours, figures.ratios = found.a, found.b, found.ratios
    figures.order = found.order
    figures.load_start, figures.load_end = found.load_start, found.load_end
    return figures


def _open_period(engine: Engine, guild_id: int) -> periods_repository.Period:
    with engine.begin() as conn:
        period_id = periods_repository.create_period(
            conn,
            guild_id=guild_id,
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=30),
            status="open",
            seed="ab" * 32,
            commitment="cd" * 32,
            now=NOW,
        )
        earning_repository.take_watch_baselines(conn, guild_id, period_id)
        return periods_repository.get_period(conn, period_id)


def _bare_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS bench_bare (id BIGSERIAL PRIMARY KEY, n INT)"
        )


# --- awards ----------------------------------------------------------------------------------


def awards(engine: Engine, count: int, batch: int, rounds: int) -> list[Figures]:
    """One at a time: ``count`` awards per round, each ``add_ledger_entry`` in its own
    transaction, against ``count`` single-row INSERT-and-commit transactions into a bare table.
    A crowd: ``batch`` awards (distinct viewers) in one ``award_many`` call, against the same rows
    inserted into the bare table with one executemany. ``rounds`` of each, interleaved."""
    _bare_table(engine)
    period = _open_period(engine, AWARD_GUILD)
    bare_insert = sa.text("INSERT INTO bench_bare (n) VALUES (:n)")

    def one_bare(run: int) -> float:
        def loop() -> None:
            for n in range(count):
                with engine.begin() as conn:
                    conn.execute(bare_insert, {"n": n})

        return count / _timed(loop)[0]

    def one_award(run: int) -> float:
        def loop() -> None:
            for n in range(count):
                with engine.begin() as conn:
                    if not ledger_repository.add_ledger_entry(
                        conn,
                        guild_id=AWARD_GUILD,
                        period_id=period.id,
                        platform=Platform.KICK,
                        platform_user_id=str(FIRST_USER + n % 500),
                        amount=15,
                        source="gift",
                        source_ref=f"one:{run}:{n}",
                        actor_id=None,
                        reason="bench",
                        at=NOW,
                    ):
                        raise AssertionError("an award was refused")

        return count / _timed(loop)[0]

    one = _runs(Figures("awards one at a time", "/s"), rounds, one_award, one_bare)

    def many_bare(run: int) -> float:
        def insert() -> None:
            with engine.begin() as conn:
                conn.execute(bare_insert, [{"n": n} for n in range(batch)])

        return batch / _timed(insert)[0]

    def many_award(run: int) -> float:
        rows = [
            TicketAward(
                AWARD_GUILD,
                period.id,
                Platform.KICK,
                str(FIRST_USER + n),
                3,
                "wager",
                f"many:{run}:{n}",
                None,
                "bench",
                NOW,
            )
            for n in range(batch)
        ]

        def write() -> set:
            with engine.begin() as conn:
                return awards_repository.award_many(conn, rows)

        elapsed, written = _timed(write)
        if len(written) != batch:
            raise AssertionError(f"award_many wrote {len(written)} of {batch}")
        return batch / elapsed

    many = _runs(Figures(f"award_many, {batch:,} at once", "/s"), rounds, many_award, many_bare)
    _check_balances(engine, period.id)
    return [one, many]


def _check_balances(engine: Engine, period_id: int) -> None:
    # Untimed. Fresh statistics first: with the rows just written unseen, the planner once
    # chose a nested loop over 100,000 x 100,000 rows and the check ran for many minutes.
    tick_bench._maintain(engine, "ANALYZE raffle_ledger, raffle_balances")
    with engine.connect() as conn:
        mismatched = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT * FROM raffle_balances WHERE period_id = :p) b "
                "FULL JOIN (SELECT platform, platform_user_id, sum(amount) AS total "
                "FROM raffle_ledger WHERE period_id = :p GROUP BY 1, 2) l "
                "USING (platform, platform_user_id) WHERE b.tickets IS DISTINCT FROM l.total"
            ),
            {"p": period_id},
        ).scalar_one()
    if mismatched:
        raise AssertionError(f"{mismatched} balances differ from their ledger")


# --- conversion ------------------------------------------------------------------------------


def conversion(engine: Engine, viewers: int, runs: int, index: int) -> Figures:
    """``viewers`` viewers of a guild each due one more full hour: set-up gives them watchtime
    rows (and the period baselines of 0); before each run their watchtime grows by an hour
    (one UPDATE and a VACUUM ANALYZE, untimed). Timed: ``convert_watchtime`` for the guild, in
    its transaction. Bare: one INSERT ... SELECT of as many rows into a bare table."""
    guild_id = CONVERSION_GUILD + index
    _bare_table(engine)
    period = _open_period(engine, guild_id)  # baselines now: none, so 0 for everyone
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds) "
                "SELECT :g, 'kick', (:first + i)::text, 0 FROM generate_series(0, :n - 1) i"
            ),
            {"g": guild_id, "first": FIRST_USER, "n": viewers},
        )
    settings = periods_repository.GuildRaffleSettings(watch_hour_tickets=10)

    def ours(run: int) -> float:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE watchtime SET seconds = seconds + 3600 WHERE guild_id = :g"),
                {"g": guild_id},
            )
        tick_bench._maintain(engine, "VACUUM ANALYZE watchtime")

        def convert() -> int:
            with engine.begin() as conn:
                return earning.convert_watchtime(conn, period, settings, NOW)

        elapsed, tickets = _timed(convert)
        if tickets != 10 * viewers:
            raise AssertionError(f"conversion gave {tickets} tickets, not {10 * viewers}")
        return elapsed

    def bare(run: int) -> float:
        statement = sa.text("INSERT INTO bench_bare (n) SELECT i FROM generate_series(1, :n) i")

        def insert() -> None:
            with engine.begin() as conn:
                conn.execute(statement, {"n": viewers})

        return _timed(insert)[0]

    figures = _runs(Figures(f"conversion, {viewers:,} viewers due", "s"), runs, ours, bare)
    _check_balances(engine, period.id)
    return figures
