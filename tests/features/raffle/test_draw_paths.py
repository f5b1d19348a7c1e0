"""The draw's fast paths give what the verifier computes: the picker over laid-out ranges, the
streamed snapshot hash, and a draw that reads neither the ledger nor every balance."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import Platform
from core.features.raffle import awards_repository
from core.features.raffle.awards_repository import TicketAward
from core.features.raffle.draws import fairness, snapshot_repository, verification
from core.features.raffle.draws.actors import ActorPseudonyms
from core.features.raffle.draws.service import snapshot_digest, snapshot_entries
from tests.features.raffle.proof_scenario import build
from tests.features.raffle.test_ledger import GUILD, open_period


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
        inputs = fairness.DrawInputs(
            seed_hex=hashlib.sha256(f"seed:{n}".encode()).hexdigest(),
            snapshot_hash_hex=hashlib.sha256(f"hash:{n}".encode()).hexdigest(),
            randomness_hex="" if n % 3 == 0 else hashlib.sha256(str(n).encode()).hexdigest(),
            already_won=won,
            first_counter=len(won),
            count=rng.choice([1, 3, 25, 100]),
        )
        fast = fairness.pick_winners_fast(inputs, balances_=balances, eligible=eligible)
        assert fast == fairness.pick_winners(inputs, balances_=balances, eligible=eligible)


def _entries(rng: random.Random, count: int) -> list[fairness.SnapshotEntry]:
    return [
        fairness.SnapshotEntry(
            id=n * 3 + 1,
            platform="kick",
            platform_user_id=rng.choice(["1", "\u00fc", 'a"b', "x\\y", "\u2713"]),
            amount=rng.randrange(-5, 50),
            source=rng.choice(["gift", "admin"]),
            source_ref=f"r{n}\n",
            actor=rng.choice([None, 12345678901234567]),
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


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=30), st.integers(1, 2**63 - 1))
def test_the_eligible_lines_are_the_snapshot_format_for_any_key(eligible, guild_id):
    """The hasher writes the eligible lines itself (one update for all): the same bytes as the
    verifier's canonical snapshot, whatever the keys hold (quotes, controls, any script)."""
    hasher = fairness.SnapshotHasher(guild_id, 3)
    assert hasher.finish(eligible) == fairness.snapshot_hash(guild_id, 3, [], eligible)


def test_the_streamed_hash_wants_the_rows_in_id_order():
    rows = [tuple(entry.__dict__.values()) for entry in _entries(random.Random(1), 4)]  # noqa: S311
    with pytest.raises(ValueError, match="ascending"):
        fairness.SnapshotHasher(1, 1).add([rows[1], rows[0]])
    hasher = fairness.SnapshotHasher(1, 1)
    hasher.add(rows[2:])
    with pytest.raises(ValueError, match="ascending"):
        hasher.add(rows[:2])


def test_a_draw_reads_neither_the_ledger_nor_the_balances(engine):
    """The close stored the ticket ranges: a draw seeks its winners there."""
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        raffle, period_id = build(engine)  # closes the period, draws, and rerolls
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    first_draw = next(n for n, s in enumerate(statements) if "INSERT INTO raffle_draws" in s)
    drawing = statements[first_draw:]
    assert not [s for s in drawing if "FROM raffle_ledger" in s or "FROM raffle_balances" in s]
    assert [s for s in drawing if "FROM raffle_frozen_ranges" in s]
    proof = raffle.views.export(period_id)
    assert verification.verify(proof.document, proof.ledger).matches


NASTY = "".join(chr(n) for n in range(1, 32)) + '"\\/\x7f\u2028\u00fc\U0001f389 <b>'


@pytest.mark.parametrize("version", [1, 2])
def test_the_database_builds_the_lines_python_would(engine, version):
    """PostgreSQL writes the snapshot lines itself (its JSON escaping and time format): they must
    be the bytes ``fairness.entry_line`` makes, whatever the text and the microseconds; in
    version 2 with each admin's pseudonym where version 1 has the Discord id."""
    actors = None if version == 1 else ActorPseudonyms.of_period("a secret", GUILD, 1)
    period_id = open_period(engine)
    rows = [
        TicketAward(
            GUILD,
            period_id,
            (Platform.KICK, Platform.TWITCH)[n % 5 % 2],
            f"{n}{NASTY[n % len(NASTY)]}",
            n - 20,
            ("gift", "admin", "wager", "watchtime", "import")[n % 5],
            f"ref{n}:{NASTY[: n % 40]}",
            None if n % 3 else 10**17 + n,
            NASTY[n % 40 :][:200],
            datetime(2026, 3, 10, 12, 0, tzinfo=UTC) + timedelta(microseconds=n * 77_777),
        )
        for n in range(60)
    ]
    with engine.begin() as conn:
        assert len(awards_repository.award_many(conn, rows)) == len(rows)
        # Sources the database writes as literals, and what it must still escape itself: a
        # source that is none of today's (a row from an older or newer version).
        for n, (platform, source) in enumerate(
            [("kick", "wager"), ("twitch", "gift"), ("twitch", 'we"ird'), ("kick", "gift\n")]
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id,"
                    " amount, source, source_ref, actor_id, reason, created_at) VALUES (:g, :p,"
                    " :platform, 'odd', 1, :source, :ref, NULL, '', :at)"
                ),
                {
                    "g": GUILD,
                    "p": period_id,
                    "platform": platform,
                    "source": source,
                    "ref": f"odd:{n}",
                    "at": datetime(2026, 3, 10, 13, 0, n, tzinfo=UTC),
                },
            )
    with engine.connect() as conn:
        batches = snapshot_repository.iter_snapshot_lines(
            conn, GUILD, period_id, batch=7, actors=actors
        )
        lines = [line for batch in batches for line in batch]
        entries = snapshot_entries(conn, GUILD, period_id, actors)
        digest = snapshot_digest(conn, GUILD, period_id, ["kick:1", "kick:0"], actors)
    assert lines == [fairness.entry_line(tuple(entry.__dict__.values())) for entry in entries]
    admins = {entry.actor for entry in entries} - {None}
    assert len(admins) == 20
    if actors is not None:
        assert admins == set(actors.mapping([10**17 + n for n in range(0, 60, 3)]).values())
    eligible = ["kick:0", "kick:1"]
    assert digest == fairness.snapshot_hash(GUILD, period_id, entries, eligible, version)


def test_the_hash_leaves_the_planner_settings_as_they_were(postgres_engine):
    """The close asks for parallel workers to build the lines, for its COPY only."""
    period_id = open_period(postgres_engine)
    setting = sa.text("SELECT current_setting('parallel_tuple_cost')")
    with postgres_engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL parallel_tuple_cost = 0.25"))
        snapshot_digest(conn, GUILD, period_id, [])
        assert conn.execute(setting).scalar_one() == "0.25"
    with postgres_engine.connect() as conn:
        assert conn.execute(setting).scalar_one() == "0.1"
        snapshot_digest(conn, GUILD, period_id, [])
        assert conn.execute(setting).scalar_one() == "0.1"
