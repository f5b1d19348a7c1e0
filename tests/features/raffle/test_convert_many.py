"""Watchtime tickets converted for many guilds at once leave exactly the tables that converting
each guild on its own leaves: ledger rows, balances and hours paid, on SQLite and PostgreSQL.
The guilds' states are drawn from a seeded generator: rates of every size (and none stored),
guilds without a period, with a scheduled or a closed one, viewers with no full hour due, one or
several, parts of an hour, hours paid already, baselines, viewers first seen after the period
opened, a ledger row written by an earlier try, Kick and Twitch.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.events import utc
from core.features.raffle import service
from core.features.raffle.earning import conversions_repository
from core.features.raffle.earning import service as earning
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.tables import (
    raffle_balances,
    raffle_ledger,
    raffle_periods,
    raffle_settings,
    raffle_watch_progress,
)
from core.features.watchtime.tables import watchtime
from tests.features.raffle.support import make_service
from tests.support.clock import Clock
from tests.support.logs import our_messages

T = datetime(2030, 6, 12, 20, 31, tzinfo=UTC)
HOUR = 3600
ONE_BY_ONE, AT_ONCE, AGAIN = 10_000, 20_000, 30_000  # copies of the same guilds
GUILDS = 60
SEED = 26


def add_period(conn: Connection, guild_id: int, status: str, n: int) -> int:
    return conn.execute(
        raffle_periods.insert()
        .values(
            guild_id=guild_id, starts_at=T - timedelta(days=11 + n), ends_at=T + timedelta(days=19),
            status=status, seed=f"{n:064x}", commitment=f"{n + 1:064x}",
            created_at=T - timedelta(days=12), opened_at=T - timedelta(days=11),
        )
        .returning(raffle_periods.c.id)
    ).scalar_one()  # fmt: skip


def build(conn: Connection, base: int, seed: int, count: int = GUILDS) -> list[int]:
    """``count`` guilds in states drawn from ``seed``, their ids from ``base`` on (the same
    seed builds the same states at another base)."""
    rng = random.Random(seed)  # noqa: S311 (test states, not secrets)
    guilds = []
    for n in range(count):
        g = base + n
        guilds.append(g)
        if rng.random() < 0.8:  # else the default rate
            conn.execute(
                raffle_settings.insert().values(
                    guild_id=g, watch_hour_tickets=rng.choice([0, 1, 3, 10, 25])
                )
            )
        kind = rng.choice(["open"] * 6 + ["none", "scheduled", "closed", "closed and open"])
        periods = []
        if "closed" in kind:
            periods.append(add_period(conn, g, "closed", n))
        if kind in ("open", "scheduled"):
            periods.append(add_period(conn, g, kind, n))
        if kind == "closed and open":
            periods.append(add_period(conn, g, "open", n))
        users = [
            (rng.choice(["kick", "kick", "twitch"]), str(rng.randint(1, 30)))
            for _ in range(rng.choice([0, 1, 4, 12]))
        ]
        for platform, user_id in dict.fromkeys(users):
            baseline = rng.choice([0, 0, 1800, 5 * HOUR + 7])
            paid = rng.choice([0, 0, 1, 3])
            due = rng.choice([0, 0, 1, 1, 2, 5])  # full hours not paid yet
            part = rng.choice([0, 1, 1799, 3599])  # and a part of the next
            seconds = baseline + (paid + due) * HOUR + part
            conn.execute(
                watchtime.insert().values(
                    guild_id=g, platform=platform, platform_user_id=user_id, seconds=seconds,
                    last_seen=T,
                )
            )  # fmt: skip
            for period_id in periods:
                if rng.random() < 0.75:  # else first seen after the period opened
                    conn.execute(
                        raffle_watch_progress.insert().values(
                            period_id=period_id, platform=platform, platform_user_id=user_id,
                            guild_id=g, baseline_seconds=baseline, hours_awarded=paid,
                        )
                    )  # fmt: skip
                if rng.random() < 0.4:
                    conn.execute(
                        raffle_balances.insert().values(
                            period_id=period_id, platform=platform, platform_user_id=user_id,
                            guild_id=g, tickets=rng.randint(1, 400),
                        )
                    )  # fmt: skip
                if due and rng.random() < 0.1:  # an earlier try wrote the row, not the hours
                    reached = paid + due
                    conn.execute(
                        raffle_ledger.insert().values(
                            guild_id=g, period_id=period_id, platform=platform,
                            platform_user_id=user_id, amount=7, source="watchtime",
                            source_ref=f"{platform}:{user_id}:{reached}", reason="",
                            created_at=T - timedelta(minutes=1),
                        )
                    )  # fmt: skip
    return guilds


def tables(engine: Engine, base: int) -> dict[str, list[tuple]]:
    """What converting writes, the copy at ``base`` told apart from the others: guild ids made
    relative and each period named by its guild and status."""
    lo, hi = base, base + 10_000
    found = {}
    with engine.connect() as conn:
        p = raffle_periods.c
        names = {
            row.id: (row.guild_id - base, row.status)
            for row in conn.execute(
                sa.select(p.id, p.guild_id, p.status).where(p.guild_id >= lo, p.guild_id < hi)
            )
        }
        for table in (raffle_ledger, raffle_balances, raffle_watch_progress):
            columns = [c for c in table.columns if c.name not in ("id", "guild_id", "period_id")]
            rows = conn.execute(
                sa.select(table.c.period_id, *columns).where(
                    table.c.guild_id >= lo, table.c.guild_id < hi
                )
            ).all()
            found[table.name] = sorted(
                (names[row[0]], *(utc(v) if isinstance(v, datetime) else v for v in row[1:]))
                for row in rows
            )
    return found


def paid_hours(engine: Engine, base: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(raffle_ledger)
            .where(raffle_ledger.c.guild_id >= base, raffle_ledger.c.guild_id < base + 10_000)
        ).scalar_one()


def test_converting_many_guilds_at_once_leaves_what_converting_each_guild_leaves(
    engine: Engine, monkeypatch, caplog
):
    monkeypatch.setattr(service, "CONVERT_BATCH", 7)  # batches end mid-state, and a short one
    raffle = make_service(engine, Clock(T))
    with engine.begin() as conn:
        one_by_one = build(conn, ONE_BY_ONE, SEED)
        at_once = build(conn, AT_ONCE, SEED)
    before = tables(engine, AT_ONCE)
    assert before == tables(engine, ONE_BY_ONE)

    singles = sum(raffle.convert_guild_watchtime(g, T) for g in one_by_one)
    with caplog.at_level(logging.WARNING):
        batched = raffle.convert_watchtime_many(at_once, T)

    assert our_messages(caplog) == []  # the batches' own statements ran
    assert batched == singles > 0
    after = tables(engine, AT_ONCE)
    assert after == tables(engine, ONE_BY_ONE)
    # The states drawn cover what they should: hours paid, at several rates, retried rows.
    assert paid_hours(engine, AT_ONCE) - len(before["raffle_ledger"]) > 30
    assert len({amount for _, _, _, amount, *_ in after["raffle_ledger"]}) > 5
    assert len(after["raffle_watch_progress"]) > len(before["raffle_watch_progress"])


def test_the_scheduler_converts_every_open_period_in_batches(engine: Engine, monkeypatch):
    monkeypatch.setattr(service, "CONVERT_BATCH", 5)
    with engine.begin() as conn:
        one_by_one = build(conn, ONE_BY_ONE, SEED + 1, count=30)
        build(conn, AT_ONCE, SEED + 1, count=30)
    raffle = make_service(engine, Clock(T))
    for g in one_by_one:
        raffle.convert_guild_watchtime(g, T)
    raffle.convert_watchtime(T)  # every guild with an open period: the other copy's too
    assert tables(engine, AT_ONCE) == tables(engine, ONE_BY_ONE)


def test_converting_again_changes_nothing(engine: Engine, monkeypatch):
    monkeypatch.setattr(service, "CONVERT_BATCH", 9)
    raffle = make_service(engine, Clock(T))
    with engine.begin() as conn:
        guilds = build(conn, AGAIN, SEED + 2)
    assert raffle.convert_watchtime_many(guilds, T) > 0
    after_first = tables(engine, AGAIN)
    assert raffle.convert_watchtime_many(guilds, T + timedelta(minutes=1)) == 0
    assert tables(engine, AGAIN) == after_first


def test_a_failed_batch_is_converted_guild_by_guild_and_one_guild_fails_alone(
    engine: Engine, monkeypatch, caplog
):
    monkeypatch.setattr(service, "CONVERT_BATCH", 8)
    raffle = make_service(engine, Clock(T))
    with engine.begin() as conn:
        one_by_one = build(conn, ONE_BY_ONE, SEED + 3)
        at_once = build(conn, AT_ONCE, SEED + 3)
    for g in one_by_one:
        raffle.convert_guild_watchtime(g, T)
    broken = at_once[3]  # its batch fails, then it fails alone
    real_many, real_one = conversions_repository.convert_watch_hours_many, earning.convert_watchtime

    def many(conn, periods, now):  # type: ignore[no-untyped-def]
        if any(p.guild_id == broken for p in periods):
            raise RuntimeError("a batch that fails")
        return real_many(conn, periods, now)

    def one(conn, period, settings, now):  # type: ignore[no-untyped-def]
        if period.guild_id == broken:
            raise RuntimeError("a guild that fails")
        return real_one(conn, period, settings, now)

    monkeypatch.setattr(conversions_repository, "convert_watch_hours_many", many)
    monkeypatch.setattr(earning, "convert_watchtime", one)
    with caplog.at_level(logging.WARNING):
        raffle.convert_watchtime_many(at_once, T)

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "a batch of 8 guilds' watchtime tickets failed; converting them one by one",
        f"guild {broken}: watchtime tickets failed; the next run retries",
    ]
    expected = {
        name: [row for row in rows if row[0][0] != broken - AT_ONCE]
        for name, rows in tables(engine, ONE_BY_ONE).items()
    }
    untouched = tables(engine, AT_ONCE)
    assert {
        name: [row for row in rows if row[0][0] != broken - AT_ONCE]
        for name, rows in untouched.items()
    } == expected
    monkeypatch.undo()
    raffle.convert_watchtime_many([broken], T)  # the next run converts it
    assert tables(engine, AT_ONCE) == tables(engine, ONE_BY_ONE)


def test_a_period_closed_after_the_listing_gets_nothing_more(engine: Engine):
    raffle = make_service(engine, Clock(T))
    with engine.begin() as conn:
        build(conn, AT_ONCE, SEED + 4, count=20)
    with engine.connect() as conn:
        listed = periods_repository.list_guild_ids_with_open_period(conn)
    closing = [g for g in listed if AT_ONCE <= g < AT_ONCE + 20][:5]
    with engine.begin() as conn:
        for g in closing:
            period = periods_repository.find_open_period(conn, g)
            assert period is not None
            assert periods_repository.lock_period_for_close(conn, period.id)
            periods_repository.close_period(
                conn,
                period.id,
                now=T,
                ends_at=T,
                snapshot_hash="0" * 64,
                snapshot_version=2,
                eligible=[],
            )
    before = tables(engine, AT_ONCE)
    assert raffle.convert_watchtime_many(listed, T) > 0
    after = tables(engine, AT_ONCE)
    for name in after:
        closed = {g - AT_ONCE for g in closing}
        assert [r for r in after[name] if r[0][0] in closed] == [
            r for r in before[name] if r[0][0] in closed
        ]
    assert after != before


def test_a_close_waits_for_the_batch_holding_its_period(postgres_engine: Engine):
    """PostgreSQL: a batch holds its periods to its commit, so a close that starts meanwhile
    waits and then freezes a ledger with the batch's tickets in it."""
    engine = postgres_engine
    with engine.begin() as conn:
        guilds = build(conn, AT_ONCE, SEED + 5, count=10)
    with engine.begin() as conn:
        held = conversions_repository.hold_open_periods(conn, guilds)
        assert held
        closed: list[bool] = []

        def close() -> None:
            with engine.begin() as other:
                other.exec_driver_sql("SET LOCAL lock_timeout = '60s'")  # not a deadlock
                closed.append(periods_repository.lock_period_for_close(other, held[0].period_id))

        closer = threading.Thread(target=close)
        closer.start()
        closer.join(timeout=0.5)
        assert closer.is_alive()  # waiting for the batch's lock
        conversions_repository.convert_watch_hours_many(conn, held, T)
    closer.join(timeout=90)
    assert closed == [True]


def test_two_processes_converting_at_once_pay_each_hour_once(
    postgres_engine: Engine, monkeypatch, caplog
):
    """Two threads, each its own connection, convert the same guilds at the same moment: the
    tables are those of a single run, and the tickets each reports add up to them. Neither
    batch fails (a deadlock would send it guild by guild, with a warning)."""
    monkeypatch.setattr(service, "CONVERT_BATCH", 11)
    engine = postgres_engine
    with engine.begin() as conn:
        guilds = build(conn, AT_ONCE, SEED + 6)
        single = build(conn, ONE_BY_ONE, SEED + 6)
    expected = make_service(engine, Clock(T)).convert_watchtime_many(single, T)

    start = threading.Barrier(2)
    given: list[int] = []

    def run() -> None:
        raffle = make_service(engine, Clock(T))
        start.wait()
        given.append(raffle.convert_watchtime_many(guilds, T))

    threads = [threading.Thread(target=run) for _ in range(2)]
    with caplog.at_level(logging.WARNING):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert our_messages(caplog) == []
    assert tables(engine, AT_ONCE) == tables(engine, ONE_BY_ONE)
    assert sum(given) == expected > 0


def test_a_conversion_runs_the_same_statements_for_3_guilds_or_300(engine: Engine):
    counts = []
    for base, count in ((AT_ONCE, 3), (AGAIN, 300)):
        with engine.begin() as conn:
            guilds = build(conn, base, SEED + 7, count=count)
        statements: list[str] = []

        def record(conn, cursor, statement, *args, statements=statements):  # type: ignore[no-untyped-def]
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            make_service(engine, Clock(T)).convert_watchtime_many(guilds, T)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8


def test_the_scheduler_runs_the_same_statements_for_3_guilds_or_300_when_nothing_is_due(
    engine: Engine,
):
    """With no period to open or close, no draw, gift or missing round, the raffle's timed
    work is a fixed number of statements however many guilds (their conversions batched)."""
    counts = []
    for base, count in ((AT_ONCE, 3), (AGAIN, 300)):
        with engine.begin() as conn:
            guilds = build(conn, base, SEED + 8, count=count)
            p = raffle_periods.c
            in_copy = p.guild_id.in_(guilds)
            conn.execute(
                raffle_periods.update()
                .where(in_copy, p.status == "scheduled")
                .values(status="cancelled")
            )
            conn.execute(
                raffle_periods.update()
                .where(in_copy, p.status == "open")
                .values(beacon_round=1, beacon_genesis_time=0, beacon_period_seconds=3)
            )
        statements: list[str] = []

        def record(conn, cursor, statement, *args, statements=statements):  # type: ignore[no-untyped-def]
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            make_service(engine, Clock(T)).run_scheduled(T)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 20
