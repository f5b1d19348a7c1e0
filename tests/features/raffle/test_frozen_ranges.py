"""The ticket ranges the close stores: the draw seeks its winners in them and picks exactly what
the verifier (``fairness.pick_winners``) picks; periods closed without them still draw."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime

import sqlalchemy as sa

from core.features.raffle.draws import fairness, frozen_ranges, verification
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws import service as draws
from core.features.raffle.periods import repository as periods
from core.features.raffle.tables import raffle_balances, raffle_exclusions, raffle_frozen_ranges
from tests.features.raffle.proof_scenario import GUILD as SCENARIO_GUILD
from tests.features.raffle.proof_scenario import build
from tests.features.raffle.test_ledger import GUILD, open_period

# Keys whose code-point order differs from a collation's: case, accents, digits, astral planes.
NAMES = ["\u00e9mile", "Zed", "zed", "10", "9", "a", "a b", "\uff5e", "\U0001f389", "\u00fc"]


def _pool(rng: random.Random) -> dict[tuple[str, str], int]:
    people = {(rng.choice(["kick", "twitch"]), str(rng.randrange(10**6))) for _ in range(40)}
    people |= {(rng.choice(["kick", "twitch"]), name) for name in NAMES}
    return {key: rng.choice([0, -3, 1, 2, 5, 17, 250, 10**6]) for key in people}


def _store(conn, period_id: int, pool: dict[tuple[str, str], int], excluded) -> None:
    conn.execute(sa.delete(raffle_balances).where(raffle_balances.c.period_id == period_id))
    conn.execute(sa.delete(raffle_exclusions).where(raffle_exclusions.c.guild_id == GUILD))
    conn.execute(
        sa.insert(raffle_balances),
        [
            {"period_id": period_id, "platform": platform, "platform_user_id": user,
             "guild_id": GUILD, "tickets": tickets}
            for (platform, user), tickets in pool.items()
        ],
    )  # fmt: skip
    for platform, user in excluded:
        conn.execute(
            sa.insert(raffle_exclusions).values(
                guild_id=GUILD, platform=platform, platform_user_id=user, username="x",
                excluded_by=1, excluded_at=datetime(2026, 3, 1, tzinfo=UTC),
            )
        )  # fmt: skip


def test_the_seeking_draw_picks_what_the_verifier_picks(engine):
    rng = random.Random(2027)  # noqa: S311 (made-up pools, the same every run)
    period_id = open_period(engine)
    for n in range(30):
        pool = _pool(rng)
        excluded = rng.sample(sorted(pool), k=rng.randrange(0, 4))
        with engine.begin() as conn:
            _store(conn, period_id, pool, excluded)
            keys = frozen_ranges.freeze(conn, GUILD, period_id, linked_only=False)
            total = frozen_ranges.total_tickets(conn, period_id)
        balances = {f"{p}:{u}": tickets for (p, u), tickets in pool.items()}
        expected_keys = sorted(
            f"{p}:{u}" for (p, u), tickets in pool.items() if tickets > 0 and (p, u) not in excluded
        )
        assert keys == expected_keys
        assert total == sum(balances[key] for key in keys)
        for m in range(4):
            won = rng.sample(sorted(balances), k=rng.randrange(0, 6))
            inputs = fairness.DrawInputs(
                seed_hex=hashlib.sha256(f"seed:{n}:{m}".encode()).hexdigest(),
                snapshot_hash_hex=hashlib.sha256(f"hash:{n}".encode()).hexdigest(),
                randomness_hex="" if m == 0 else hashlib.sha256(f"{n}{m}".encode()).hexdigest(),
                already_won=won,
                first_counter=len(won),
                count=rng.choice([1, 3, 25, 100]),
            )
            with engine.connect() as conn:
                seeking = frozen_ranges.pick_winners(
                    conn, period_id, inputs, total=total, out_of_play=_laid_out(won, keys, balances)
                )
            expected = fairness.pick_winners(inputs, balances_=balances, eligible=keys)
            assert seeking == expected


def _laid_out(won: list[str], keys: list[str], balances: dict[str, int]) -> list[tuple[int, int]]:
    """The (first ticket, tickets) of each winner's range, from the canonical layout: ``keys``
    in order, each holding its balance's tickets, numbered from 0 (docs/raffle.md)."""
    first, ranges = 0, {}
    for key in keys:
        ranges[key] = (first, balances[key])
        first += balances[key]
    return [ranges[key] for key in won if key in ranges]


def test_a_period_closed_without_ranges_draws_the_same(engine):
    """A period closed before the ranges existed (migration 0014) reads its balances instead,
    and the two paths agree, rerolls included."""
    raffle, period_id = build(engine)  # closes the period, draws, and rerolls
    with engine.connect() as conn:
        period = periods.find_period(conn, SCENARIO_GUILD, period_id)
        done = draws_repository.list_draws_of_period(conn, SCENARIO_GUILD, period_id)
    assert period is not None
    assert len(done) == 2
    with engine.begin() as conn:
        earlier = draws_repository.winners_before_with_ranges(
            conn, SCENARIO_GUILD, period_id, done[1].id
        )
        already_won = [key for key, _ in earlier]
        out_of_play = [laid_out for _, laid_out in earlier if laid_out is not None]
        total = frozen_ranges.total_tickets(conn, period_id)
        stored = draws._pick(conn, period, done[1], total, "ab" * 32, already_won, out_of_play)
        conn.execute(
            sa.delete(raffle_frozen_ranges).where(raffle_frozen_ranges.c.period_id == period_id)
        )
        assert frozen_ranges.total_tickets(conn, period_id) is None
        read = draws._pick(conn, period, done[1], None, "ab" * 32, already_won, [])
    assert stored == read
    assert len(stored) == done[1].winners_wanted
    again = raffle.draws.request(SCENARIO_GUILD, actor_id=1, winners=2)
    assert again.status == "done"
    assert len(again.winners) == 2
    proof = raffle.views.export(period_id)
    assert verification.verify(proof.document, proof.ledger).matches
