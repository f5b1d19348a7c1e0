"""The ticket ledger: one award per (period, source, reference), balances in step."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.raffle import ledger_repository
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.tables import raffle_ledger

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GUILD = 111


def open_period(engine, guild_id: int = GUILD) -> int:
    with engine.begin() as conn:
        period_id = periods_repository.create_period(
            conn,
            guild_id=guild_id,
            starts_at=datetime(2026, 3, 1, tzinfo=UTC),
            ends_at=datetime(2026, 4, 1, tzinfo=UTC),
            status="open",
            seed="00" * 32,
            commitment="11" * 32,
            now=NOW,
        )
    assert period_id is not None
    return period_id


def award(engine, period_id: int, ref: str, amount: int = 15, guild_id: int = GUILD) -> bool:
    with engine.begin() as conn:
        return ledger_repository.add_ledger_entry(
            conn,
            guild_id=guild_id,
            period_id=period_id,
            platform=Platform.KICK,
            platform_user_id="42",
            amount=amount,
            source="gift",
            source_ref=ref,
            actor_id=None,
            reason="",
            at=NOW,
        )


def balance(engine, period_id: int) -> int:
    with engine.connect() as conn:
        return ledger_repository.get_balance(conn, GUILD, period_id, Platform.KICK, "42")


def test_a_replayed_entry_adds_nothing(engine):
    period_id = open_period(engine)
    assert award(engine, period_id, "gift:abc") is True
    assert award(engine, period_id, "gift:abc") is False
    assert award(engine, period_id, "gift:def", amount=30) is True
    assert balance(engine, period_id) == 45


def test_entries_go_only_to_an_open_period_of_that_guild(engine):
    period_id = open_period(engine)
    assert award(engine, period_id, "gift:abc", guild_id=999) is False
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
    assert award(engine, period_id, "gift:abc") is False
    assert balance(engine, period_id) == 0


def test_a_second_open_period_for_a_guild_is_refused(engine):
    open_period(engine)
    with engine.begin() as conn:
        again = periods_repository.create_period(
            conn,
            guild_id=GUILD,
            starts_at=NOW,
            ends_at=NOW,
            status="scheduled",
            seed="22" * 32,
            commitment="33" * 32,
            now=NOW,
        )
    assert again is None
    open_period(engine, guild_id=GUILD + 1)


def test_unknown_sources_are_a_programming_error(engine):
    period_id = open_period(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="source"):
        ledger_repository.add_ledger_entry(
            conn,
            guild_id=GUILD,
            period_id=period_id,
            platform=Platform.KICK,
            platform_user_id="42",
            amount=1,
            source="lottery",
            source_ref="x",
            actor_id=None,
            reason="",
            at=NOW,
        )


def test_eight_concurrent_duplicates_award_once_on_postgres(postgres_engine):
    engine = postgres_engine
    period_id = open_period(engine)
    barrier = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        with engine.begin() as conn:
            # Every transaction is open before any of them inserts.
            conn.execute(sa.text("SELECT 1"))
            barrier.wait(timeout=10)
            added = ledger_repository.add_ledger_entry(
                conn,
                guild_id=GUILD,
                period_id=period_id,
                platform=Platform.KICK,
                platform_user_id="42",
                amount=15,
                source="gift",
                source_ref="gift:same",
                actor_id=None,
                reason="",
                at=NOW,
            )
        with lock:
            results.append(added)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]
    assert balance(engine, period_id) == 15
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(raffle_ledger)).scalar_one()
    assert rows == 1
