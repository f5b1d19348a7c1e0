"""benchmarks/raffle_draw.py: the reference bot's weighted draw the bench times ours against
draws as that bot does (a holder of tickets, in proportion, never the excluded), on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks.raffle_draw import reference_draw, reference_tables

GUILD = 4300
NOW = datetime(2026, 4, 1, tzinfo=UTC)


def _period_with_balances(engine: Engine, tickets: dict[str, int], excluded: str) -> int:
    with engine.begin() as conn:
        period_id = conn.execute(
            sa.text(
                "INSERT INTO raffle_periods (guild_id, starts_at, ends_at, status, seed, "
                "commitment, created_at) VALUES (:g, :t, :t, 'closed', :s, :c, :t) RETURNING id"
            ),
            {"g": GUILD, "t": NOW, "s": "ab" * 32, "c": "cd" * 32},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, "
                "tickets) VALUES (:p, 'kick', :u, :g, :n)"
            ),
            [{"p": period_id, "u": user, "g": GUILD, "n": n} for user, n in tickets.items()],
        )
        conn.execute(
            sa.text(
                "INSERT INTO raffle_exclusions (guild_id, platform, platform_user_id, username, "
                "excluded_by, excluded_at) VALUES (:g, 'kick', :u, 'x', 1, :t)"
            ),
            {"g": GUILD, "u": excluded, "t": NOW},
        )
    return int(period_id)


def test_the_reference_draw_picks_holders_in_proportion_and_records_each_draw(postgres_engine):
    tickets = {"heavy": 30, "light": 10, "none": 0, "excluded": 50}
    period_id = _period_with_balances(postgres_engine, tickets, excluded="excluded")
    reference_tables(postgres_engine)
    wins = Counter(reference_draw(postgres_engine, period_id) for _ in range(400))
    assert set(wins) == {"kick:heavy", "kick:light"}
    # 3 expected; outside these bounds by chance: under one run in ten thousand
    assert 1.8 < wins["kick:heavy"] / wins["kick:light"] < 5
    with postgres_engine.connect() as conn:
        recorded = conn.execute(
            sa.text("SELECT count(*), min(total_tickets) FROM bench_reference_draws")
        ).one()
        marked = conn.execute(sa.text("SELECT status FROM bench_reference_periods")).scalar_one()
    assert tuple(recorded) == (400, 40)
    assert marked == "ended"
