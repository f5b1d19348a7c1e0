"""Watchtime to tickets for a whole guild at once: exact over many ticks and concurrent
converters, a few statements however many viewers, nothing for a closed period."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.earning import service as earning
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.periods.repository import GuildRaffleSettings
from core.features.raffle.tables import raffle_balances, raffle_ledger, raffle_watch_progress
from tests.features.raffle.support import set_watchtime
from tests.features.raffle.test_ledger import GUILD, NOW, open_period

HOUR = 3600


def start(engine, baselines: dict[str, int]) -> int:
    """Viewers with watchtime before the period (their baselines), then the period opens."""
    for user, seconds in baselines.items():
        set_watchtime(engine, user, seconds, guild_id=GUILD)
    period_id = open_period(engine)
    with engine.begin() as conn:
        earning_repository.take_watch_baselines(conn, GUILD, period_id)
    return period_id


def convert(engine, period_id: int, rate: int = 10, tick: int = 0) -> int:
    with engine.begin() as conn:
        period = periods_repository.get_period(conn, period_id)
        settings = GuildRaffleSettings(watch_hour_tickets=rate)
        return earning.convert_watchtime(conn, period, settings, NOW + timedelta(hours=tick))


def state(engine, period_id: int):
    """Per viewer: tickets in the ledger, the balance, the hours paid, and the references."""
    l, b, p = raffle_ledger.c, raffle_balances.c, raffle_watch_progress.c  # noqa: E741
    with engine.connect() as conn:
        ledger = conn.execute(
            sa.select(l.platform_user_id, l.amount, l.source_ref).where(l.period_id == period_id)
        ).all()
        balances = dict(
            conn.execute(
                sa.select(b.platform_user_id, b.tickets).where(b.period_id == period_id)
            ).all()
        )
        hours = dict(
            conn.execute(
                sa.select(p.platform_user_id, p.hours_awarded).where(p.period_id == period_id)
            ).all()
        )
    totals: dict[str, int] = {}
    for user, amount, _ in ledger:
        totals[user] = totals.get(user, 0) + amount
    return totals, balances, hours, [ref for _, _, ref in ledger]


def expected_tickets(watched: dict[str, int], baselines: dict[str, int], rate: int = 10):
    tickets = {
        user: rate * (max(0, seconds - baselines.get(user, 0)) // HOUR)
        for user, seconds in watched.items()
    }
    return {user: n for user, n in tickets.items() if n}


def test_every_full_hour_is_paid_once_over_many_ticks(engine):
    rng = random.Random(12)  # noqa: S311 (made-up watchtime, the same every run)
    baselines = {f"b{n}": rng.randrange(0, 5 * HOUR) for n in range(30)}
    period_id = start(engine, baselines)
    watched = dict(baselines)
    given = 0
    for tick in range(8):
        for n in range(45):  # b0..b29 have a baseline; n30..n44 were first seen later
            user = f"b{n}" if n < 30 else f"n{n}"
            if rng.random() < 0.7:
                watched[user] = watched.get(user, 0) + rng.randrange(0, 2 * HOUR)
                set_watchtime(engine, user, watched[user], guild_id=GUILD)
        given += convert(engine, period_id, tick=tick)
        totals, balances, hours, refs = state(engine, period_id)
        assert totals == expected_tickets(watched, baselines)
        assert balances == totals
        assert sum(totals.values()) == given
        for user, paid in hours.items():
            assert paid == max(0, watched.get(user, 0) - baselines.get(user, 0)) // HOUR
        for ref in refs:  # kick:<user>:<hours reached>
            _, user, reached = ref.split(":")
            assert 0 < int(reached) <= hours[user]
    assert convert(engine, period_id, tick=9) == 0  # nothing new: nothing paid
    assert state(engine, period_id)[0] == expected_tickets(watched, baselines)


def test_concurrent_converters_pay_each_hour_once(engine):
    baselines = {f"v{n}": n * 600 for n in range(40)}
    period_id = start(engine, baselines)
    watched = dict(baselines)
    for round_ in range(3):
        for n in range(60):
            user = f"v{n}"
            watched[user] = watched.get(user, 0) + (n % 5 + 1) * 1900
            set_watchtime(engine, user, watched[user], guild_id=GUILD)
        before = sum(state(engine, period_id)[0].values())
        barrier = threading.Barrier(4)
        given: list[int] = []
        errors: list[BaseException] = []
        threads = [
            threading.Thread(
                target=_converter, args=(engine, period_id, round_, barrier, given, errors)
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        totals, balances, _, refs = state(engine, period_id)
        assert totals == balances == expected_tickets(watched, baselines)
        assert len(refs) == len(set(refs))
        # Each converter reports what it wrote itself; together, what the round added.
        assert sum(given) == sum(totals.values()) - before > 0


def _converter(engine, period_id, tick, barrier, given, errors) -> None:
    try:
        barrier.wait(timeout=10)
        given.append(convert(engine, period_id, tick=tick))
    except BaseException as exc:
        errors.append(exc)


def test_a_conversion_runs_a_few_statements_whatever_the_crowd(engine):
    period_id = start(engine, {})
    counts = []
    for crowd in (3, 300):
        for n in range(crowd):
            set_watchtime(engine, f"c{crowd}-{n}", 2 * HOUR + n, guild_id=GUILD)
        statements: list[str] = []

        def count(conn, cursor, statement, *args, statements=statements):
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            convert(engine, period_id)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10
    assert state(engine, period_id)[1] == {
        f"c{crowd}-{n}": 20 for crowd in (3, 300) for n in range(crowd)
    }


def test_a_rate_of_zero_pays_nothing_but_moves_the_hours(engine):
    period_id = start(engine, {"z": 0})
    set_watchtime(engine, "z", 3 * HOUR, guild_id=GUILD)
    assert convert(engine, period_id, rate=0) == 0
    set_watchtime(engine, "z", 4 * HOUR, guild_id=GUILD)
    assert convert(engine, period_id, rate=10) == 10  # only the fourth hour
    totals, balances, hours, refs = state(engine, period_id)
    assert (totals, balances, hours, refs) == ({"z": 10}, {"z": 10}, {"z": 4}, ["kick:z:4"])


def test_a_closed_period_converts_nothing(engine):
    period_id = start(engine, {"a": 0})
    set_watchtime(engine, "a", 5 * HOUR, guild_id=GUILD)
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
    with pytest.raises(earning.PeriodClosed):
        convert(engine, period_id)
    assert state(engine, period_id)[:3] == ({}, {}, {"a": 0})


def test_balance_updates_stay_on_their_page(engine):
    """PostgreSQL: a conversion's balance updates are HOT (no indexed column changes, room left
    on the page by the fillfactor), so they write no index entries. (Progress rows were
    never indexed on ``hours_awarded``; at scale their fillfactor gives them the room.)"""
    if engine.dialect.name != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    users = {f"h{n}": 0 for n in range(40)}
    period_id = start(engine, users)
    for user in users:
        set_watchtime(engine, user, HOUR, guild_id=GUILD)
    assert convert(engine, period_id) == 400  # the balances are created
    for user in users:
        set_watchtime(engine, user, 2 * HOUR, guild_id=GUILD)
    counts = sa.text(
        "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
        "WHERE relname IN ('raffle_balances', 'raffle_watch_progress')"
    )
    with engine.begin() as conn:  # the counts are the connection's, not flushed yet
        period = periods_repository.get_period(conn, period_id)
        settings = GuildRaffleSettings(watch_hour_tickets=10)
        before = {name: (upd, hot) for name, upd, hot in conn.execute(counts)}
        assert earning.convert_watchtime(conn, period, settings, NOW) == 400
        after = {name: (upd, hot) for name, upd, hot in conn.execute(counts)}
    updated = {
        name: (upd - before.get(name, (0, 0))[0], hot - before.get(name, (0, 0))[1])
        for name, (upd, hot) in after.items()
    }
    assert updated["raffle_balances"] == (40, 40)
    assert updated["raffle_watch_progress"][0] == 40
