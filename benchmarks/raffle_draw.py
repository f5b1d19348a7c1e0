"""Our draw against the reference bot's weighted draw, over the same rows, in the same run.

The reference (madcats1337/kick-watchtime-bot) draws a winner this way, reimplemented here from
its documented behaviour (nothing of its code is copied): in one transaction it reads the
period's row, then every participant's ticket count of the period (those holding tickets and not
excluded, in a fixed order), builds a list of ticket ranges in Python (one dict per
participant), picks a ticket with ``secrets.randbelow``, walks the list to the range holding it,
looks the winner's link up, records the draw and marks the period. :func:`reference_draw` does
exactly that over our tables (``raffle_periods``, ``raffle_balances``, ``raffle_exclusions``,
``account_links``), recording into two bare tables of its own so our periods stay as they are.

Ours is a forced draw of one winner (``draws_repository.create_draw`` then
``RaffleDraws.complete``), both timed, as the reference's insert of its draw is timed too. Each
round times ``repeat`` draws of each side and gives their mean (a draw among 1,000 takes
milliseconds, so one draw alone would mostly measure the scheduler); the sides take turns
(benchmarks/interleave.py).

Set-up (untimed): for each size below the big period's, a guild whose period holds that many of
the big guild's (linked) viewers, 1-7 tickets each, closed by ``RafflePeriods.end``; the largest
size is the big guild's period that benchmarks/raffle_close.py closed.
"""

from __future__ import annotations

import secrets
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks import watchtime as tick_bench
from benchmarks.raffle import FIRST_USER, Figures, _open_period, _runs
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.service import RaffleService

DRAW_GUILD = 4200  # + the size's index
# Draws per round and side, by size: enough that one round takes tens of milliseconds.
REPEATS = {1_000: 10, 10_000: 3}

_PERIOD = sa.text("SELECT guild_id FROM raffle_periods WHERE id = :p")
_PARTICIPANTS = sa.text(
    "SELECT b.platform, b.platform_user_id, b.tickets FROM raffle_balances b "
    "WHERE b.period_id = :p AND b.tickets > 0 AND NOT EXISTS ("
    "SELECT 1 FROM raffle_exclusions e WHERE e.guild_id = :g AND e.platform = b.platform "
    "AND e.platform_user_id = b.platform_user_id) ORDER BY b.platform, b.platform_user_id"
)
_LINK = sa.text(
    "SELECT discord_user_id FROM account_links WHERE platform = :platform "
    "AND platform_user_id = :user_id"
)
_RECORD = sa.text(
    "INSERT INTO bench_reference_draws (period_id, guild_id, total_tickets, participants, "
    "winner, discord_user_id, winning_ticket) VALUES (:p, :g, :total, :participants, :winner, "
    ":discord_user_id, :ticket)"
)
_MARK = sa.text(
    "INSERT INTO bench_reference_periods (period_id, status, total_tickets) "
    "VALUES (:p, 'ended', :total) ON CONFLICT (period_id) DO UPDATE "
    "SET status = 'ended', total_tickets = excluded.total_tickets"
)


def reference_tables(engine: Engine) -> None:
    """The bare tables the reference records its draws and marks its periods in."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS bench_reference_draws (id BIGSERIAL PRIMARY KEY, "
            "period_id BIGINT, guild_id BIGINT, total_tickets BIGINT, participants INT, "
            "winner TEXT, discord_user_id BIGINT, winning_ticket BIGINT, "
            "drawn_at TIMESTAMPTZ DEFAULT now())"
        )
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS bench_reference_periods (period_id BIGINT PRIMARY KEY, "
            "status TEXT, total_tickets BIGINT)"
        )


def reference_draw(engine: Engine, period_id: int) -> str:
    """One winner the reference's way (see the module's doc); returns ``platform:user_id``."""
    with engine.begin() as conn:
        guild_id = conn.execute(_PERIOD, {"p": period_id}).scalar_one()
        rows = list(conn.execute(_PARTICIPANTS, {"p": period_id, "g": guild_id}))
        ranges = []
        first = 1
        for platform, user_id, tickets in rows:
            ranges.append(
                {
                    "platform": platform,
                    "user_id": user_id,
                    "tickets": tickets,
                    "start": first,
                    "end": first + tickets - 1,
                }
            )
            first += tickets
        total = first - 1
        ticket = secrets.randbelow(total) + 1
        winner = next(r for r in ranges if r["start"] <= ticket <= r["end"])
        discord_user_id = conn.execute(
            _LINK, {"platform": winner["platform"], "user_id": winner["user_id"]}
        ).scalar()
        key = f"{winner['platform']}:{winner['user_id']}"
        conn.execute(
            _RECORD,
            {
                "p": period_id,
                "g": guild_id,
                "total": total,
                "participants": len(rows),
                "winner": key,
                "discord_user_id": discord_user_id,
                "ticket": ticket,
            },
        )
        conn.execute(_MARK, {"p": period_id, "total": total})
    return key


def closed_period(engine: Engine, raffle: RaffleService, guild_id: int, participants: int) -> int:
    """A guild's period of ``participants`` of the big guild's linked viewers, closed."""
    period = _open_period(engine, guild_id)
    params = {"g": guild_id, "p": period.id, "first": FIRST_USER, "n": participants}
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, "
                "amount, source, source_ref, actor_id, reason, created_at) "
                "SELECT :g, :p, 'kick', (:first + i)::text, 1 + i % 7, 'admin', "
                "'draw-bench:' || i, 42, 'bench', now() FROM generate_series(0, :n - 1) i"
            ),
            params,
        )
        conn.execute(
            sa.text(
                "INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, "
                "tickets) SELECT period_id, platform, platform_user_id, guild_id, sum(amount) "
                "FROM raffle_ledger WHERE period_id = :p GROUP BY 1, 2, 3, 4"
            ),
            params,
        )
    closing = raffle.periods.end(guild_id)
    if len(closing.period.eligible or ()) != participants:
        raise AssertionError(f"{len(closing.period.eligible or ())} eligible, not {participants}")
    tick_bench._maintain(engine, "VACUUM ANALYZE")
    return period.id


def against_reference(
    engine: Engine, raffle: RaffleService, period_id: int, participants: int, rounds: int
) -> Figures:
    """Our draw and the reference's, interleaved, over the period's rows (see the module's
    doc): seconds per draw, ``bare`` being the reference's."""
    reference_tables(engine)
    repeat = REPEATS.get(participants, 1)
    guild_id = _guild_of(engine, period_id)

    def ours(run: int) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            with engine.begin() as conn:
                draw_id = draws_repository.create_draw(
                    conn, guild_id=guild_id, period_id=period_id, winners_wanted=1, prize="",
                    requested_by=1, now=raffle.draws.clock(),
                )  # fmt: skip
            done = raffle.draws.complete(draw_id, forced_by=1)
            if done.status != "done" or len(done.winners) != 1:
                raise AssertionError(f"draw #{draw_id} ended {done.status}")
        return (time.perf_counter() - started) / repeat

    def reference(run: int) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            reference_draw(engine, period_id)
        return (time.perf_counter() - started) / repeat

    what = f"draw vs reference, {participants:,}"
    return _runs(Figures(what, "s"), rounds, ours, reference)


def _guild_of(engine: Engine, period_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(_PERIOD, {"p": period_id}).scalar_one())
