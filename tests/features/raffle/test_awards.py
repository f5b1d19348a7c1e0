"""Writing tickets: cached statements, a crowd in one statement, and the close never missing
an award in flight."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import default

from core.events import Platform
from core.features.raffle import awards_repository, ledger_repository
from core.features.raffle.awards_repository import TicketAward
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.tables import raffle_balances, raffle_ledger
from tests.features.raffle.test_ledger import GUILD, NOW, award, open_period


def ticket(period_id: int, ref: str, user: str = "42", amount: int = 5, **changes) -> TicketAward:
    values = {
        "guild_id": GUILD,
        "period_id": period_id,
        "platform": Platform.KICK,
        "platform_user_id": user,
        "amount": amount,
        "source": "gift",
        "source_ref": ref,
        "actor_id": None,
        "reason": "crowd",
        "at": NOW,
    }
    return TicketAward(**(values | changes))


def ledger_sums(engine) -> dict[tuple[str, str], int]:
    """Each viewer's tickets summed from the ledger itself."""
    l = raffle_ledger.c  # noqa: E741
    query = sa.select(l.platform, l.platform_user_id, sa.func.sum(l.amount)).group_by(
        l.platform, l.platform_user_id
    )
    with engine.connect() as conn:
        return {(p, u): int(total) for p, u, total in conn.execute(query)}


def balances(engine) -> dict[tuple[str, str], int]:
    b = raffle_balances.c
    with engine.connect() as conn:
        query = sa.select(b.platform, b.platform_user_id, b.tickets)
        return {(p, u): int(t) for p, u, t in conn.execute(query)}


def test_statements_are_compiled_once_and_then_cached(engine):
    period_id = open_period(engine)
    hits: list[object] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        # Not SQL run as it is: SQLite's BEGIN IMMEDIATE on the driver's cursor has no context.
        if context is not None and context.compiled is not None:
            hits.append(context.cache_hit)

    award(engine, period_id, "warm-up")
    with engine.begin() as conn:
        awards_repository.award_many(conn, [ticket(period_id, "c1")])
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert award(engine, period_id, "second") is True
        with engine.begin() as conn:
            awards_repository.award_many(conn, [ticket(period_id, "c2"), ticket(period_id, "c3")])
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    # [no key] is what the dialects' insert() with ON CONFLICT gave: compiled on every call.
    assert hits
    assert set(hits) == {default.CACHE_HIT}


def test_a_crowd_is_written_once_per_key(engine):
    period_id = open_period(engine)
    assert award(engine, period_id, "old", amount=15) is True  # already in the ledger
    rows = [
        ticket(period_id, "old", amount=100),  # against an existing row: skipped
        ticket(period_id, "a", amount=3),
        ticket(period_id, "b", user="43", amount=4),
        ticket(period_id, "a", amount=50),  # repeats "a" in the batch: the first one counts
        ticket(period_id, "c", user="43", amount=-1),
        ticket(period_id, "w", amount=7, source="watchtime"),  # same ref, other source
        ticket(period_id, "x", guild_id=GUILD + 1),  # not this guild's period
    ]
    with engine.begin() as conn:
        written = awards_repository.award_many(conn, rows)
    assert written == {
        (period_id, "gift", "a"),
        (period_id, "gift", "b"),
        (period_id, "gift", "c"),
        (period_id, "watchtime", "w"),
    }
    assert ledger_sums(engine) == {("kick", "42"): 15 + 3 + 7, ("kick", "43"): 4 - 1}
    assert balances(engine) == ledger_sums(engine)
    with engine.begin() as conn:  # a replay of the whole batch adds nothing
        assert awards_repository.award_many(conn, rows) == set()
    assert balances(engine) == ledger_sums(engine) == {("kick", "42"): 25, ("kick", "43"): 3}


def test_a_crowd_for_a_closed_period_is_refused(engine):
    period_id = open_period(engine)
    with engine.begin() as conn:
        assert periods_repository.lock_period_for_close(conn, period_id)
        periods_repository.close_period(
            conn,
            period_id,
            now=NOW,
            ends_at=NOW,
            snapshot_hash="0" * 64,
            snapshot_version=2,
            eligible=[],
        )
    with engine.begin() as conn:
        assert awards_repository.award_many(conn, [ticket(period_id, "late")]) == set()
        assert awards_repository.award_many(conn, []) == set()
    assert ledger_sums(engine) == balances(engine) == {}


def test_an_unknown_source_in_a_crowd_is_a_programming_error(engine):
    period_id = open_period(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="source"):
        awards_repository.award_many(conn, [ticket(period_id, "a", source="lottery")])


def test_concurrent_overlapping_crowds_write_each_key_once_on_postgres(postgres_engine):
    engine = postgres_engine
    period_id = open_period(engine)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        rows = [ticket(period_id, f"r{n}", user=str(n % 7), amount=n) for n in range(offset, 300)]
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("SELECT 1"))
                barrier.wait(timeout=10)
                awards_repository.award_many(conn, rows)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n * 40,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with engine.connect() as conn:
        assert ledger_repository.count_ledger_entries(conn, GUILD, period_id) == 300
    expected = {("kick", str(u)): sum(n for n in range(300) if n % 7 == u) for u in range(7)}
    assert ledger_sums(engine) == balances(engine) == expected


def test_an_award_waiting_for_a_close_is_refused_after_it_on_postgres(postgres_engine):
    """The award starts while the close holds the period row: it must wait, then see the period
    closed, rather than slip a row into a ledger that was just frozen."""
    engine = postgres_engine
    period_id = open_period(engine)
    outcome: list[bool] = []
    finished = threading.Event()

    def late_award() -> None:
        outcome.append(award(engine, period_id, "late"))
        finished.set()

    with engine.begin() as conn:
        assert periods_repository.lock_period_for_close(conn, period_id)
        thread = threading.Thread(target=late_award)
        thread.start()
        time.sleep(0.5)
        assert not finished.is_set()  # it waits for the close
        periods_repository.close_period(
            conn,
            period_id,
            now=NOW,
            ends_at=NOW,
            snapshot_hash="0" * 64,
            snapshot_version=2,
            eligible=[],
        )
    thread.join(timeout=10)
    assert outcome == [False]
    assert ledger_sums(engine) == balances(engine) == {}


def test_a_close_waits_for_an_award_in_flight_on_postgres(postgres_engine):
    engine = postgres_engine
    period_id = open_period(engine)
    closed_at: list[float] = []

    def close() -> None:
        with engine.begin() as conn:
            periods_repository.lock_period_for_close(conn, period_id)
            closed_at.append(time.monotonic())

    with engine.begin() as conn:
        assert ledger_repository.add_ledger_entry(
            conn,
            guild_id=GUILD,
            period_id=period_id,
            platform=Platform.KICK,
            platform_user_id="42",
            amount=1,
            source="gift",
            source_ref="in-flight",
            actor_id=None,
            reason="",
            at=datetime(2026, 3, 10, tzinfo=UTC),
        )
        thread = threading.Thread(target=close)
        thread.start()
        time.sleep(0.5)
        committed_at = time.monotonic()
    thread.join(timeout=10)
    assert closed_at
    assert closed_at[0] >= committed_at
