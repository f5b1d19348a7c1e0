"""The draw's fast paths give what the verifier computes: the picker over laid-out ranges, the
streamed snapshot hash, and a draw that reads balances instead of the ledger."""

from __future__ import annotations

import hashlib
import random

import pytest
import sqlalchemy as sa

from core.features.raffle import fairness
from tests.features.raffle.proof_scenario import build


def _random_pool(rng: random.Random) -> tuple[dict[str, int], list[str], list[str]]:
    people = [f"{rng.choice(['kick', 'twitch'])}:{rng.randrange(10**6)}" for _ in range(60)]
    people += ["kick:\u00e9mile", "kick:Zed", "kick:zed", "kick:10", "kick:9"]
    balances = {key: rng.choice([0, -3, 1, 2, 5, 17, 250, 10**6]) for key in people}
    eligible = [key for key in people if rng.random() < 0.8] + ["kick:holds-nothing"]
    won = rng.sample(people, k=rng.randrange(0, 5))
    return balances, eligible, won


def test_the_fast_picker_picks_what_the_verifier_picks():
    rng = random.Random(2026)  # noqa: S311 (made-up pools, the same every run)
    for n in range(400):
        balances, eligible, won = _random_pool(rng)
        arguments = {
            "seed_hex": hashlib.sha256(f"seed:{n}".encode()).hexdigest(),
            "snapshot_hash_hex": hashlib.sha256(f"hash:{n}".encode()).hexdigest(),
            "randomness_hex": "" if n % 3 == 0 else hashlib.sha256(str(n).encode()).hexdigest(),
            "balances_": balances,
            "eligible": eligible,
            "already_won": won,
            "first_counter": len(won),
            "count": rng.choice([1, 3, 25, 100]),
        }
        assert fairness.pick_winners_fast(**arguments) == fairness.pick_winners(**arguments)


def _entries(rng: random.Random, count: int) -> list[fairness.SnapshotEntry]:
    return [
        fairness.SnapshotEntry(
            id=n * 3 + 1,
            platform="kick",
            platform_user_id=rng.choice(["1", "\u00fc", 'a"b', "x\\y", "\u2713"]),
            amount=rng.randrange(-5, 50),
            source=rng.choice(["gift", "admin"]),
            source_ref=f"r{n}\n",
            actor_id=rng.choice([None, 12345678901234567]),
            reason=rng.choice(["", "Gewinnspiel \u00fc", "\x00\x1f", "\U0001f389"]),
            created_at="2026-03-10T12:00:00.000000Z",
        )
        for n in range(count)
    ]


def test_the_streamed_hash_is_the_snapshot_hash():
    rng = random.Random(7)  # noqa: S311 (made-up ledger, the same every run)
    entries = _entries(rng, 2500)
    eligible = ["kick:b", "kick:a", "kick:\u00fc", "kick:a"]
    hasher = fairness.SnapshotHasher(5, 9)
    rows = [tuple(entry.__dict__.values()) for entry in entries]
    for start in range(0, len(rows), 700):
        hasher.add(rows[start : start + 700])
    hasher.add([])
    assert hasher.finish(eligible) == fairness.snapshot_hash(5, 9, entries, eligible)


def test_the_streamed_hash_wants_the_rows_in_id_order():
    rows = [tuple(entry.__dict__.values()) for entry in _entries(random.Random(1), 4)]  # noqa: S311
    with pytest.raises(ValueError, match="ascending"):
        fairness.SnapshotHasher(1, 1).add([rows[1], rows[0]])
    hasher = fairness.SnapshotHasher(1, 1)
    hasher.add(rows[2:])
    with pytest.raises(ValueError, match="ascending"):
        hasher.add(rows[:2])


def test_a_draw_reads_balances_and_never_the_ledger(engine):
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        raffle, period_id = build(engine)  # closes the period, draws, and rerolls
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    first_draw = next(n for n, s in enumerate(statements) if "INSERT INTO raffle_draws" in s)
    assert not [s for s in statements[first_draw:] if "FROM raffle_ledger" in s]
    proof = raffle.views.export(period_id)
    assert fairness.verify(proof.document, proof.ledger).matches
