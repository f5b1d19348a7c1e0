"""Points for watching credited from the rows the tick wrote (``accrual_batch.accrue_tick_crowds``)
and posted in each guild's own windows (``accrual.window_phase``): exact amounts, subscribers,
viewers the tick did not credit, the same instant earned twice, two processes at once, and
guilds whose windows close at different ticks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.features.points.accrual import window_phase, window_start
from core.features.points.earning import EarnResult, PointsEarning
from core.features.points.tables import (
    points_accrual,
    points_balances,
    points_ledger,
    points_settings,
)
from core.features.sub_tiers.tables import sub_tiers
from core.features.watchtime.tables import watch_settings, watchtime
from core.wiring.points import TierSubscribers
from tests.support.clock import Clock

T = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)  # a multiple of every window size used here
DAY_MS = 86_400_000


def snowflake(time_part: int, base: int) -> int:
    """A Discord-like id whose time part is ``time_part`` (its low bits tell tests apart)."""
    return (time_part << 22) | base


def make_earning(engine: Engine, now: datetime) -> PointsEarning:
    clock = Clock(now)
    return PointsEarning(engine, clock, TierSubscribers(clock), timedelta(minutes=5), lambda: [])


def seed_guild(
    conn: Connection,
    guild_id: int,
    *,
    tick_at: datetime,
    previous: datetime,
    present: list[str],
    absent: list[str] = (),  # type: ignore[assignment]
    subscribers: list[str] = (),  # type: ignore[assignment]
) -> None:
    """A guild whose tick of ``tick_at`` credited ``present`` (60 s each) and not ``absent``
    (seen at the tick before), earning 2 points a minute (5 for a subscriber) in 30-minute
    windows, its earnings clock at ``previous``."""
    conn.execute(
        watch_settings.insert().values(
            guild_id=guild_id, tracking_enabled=True, last_tick_at=tick_at, last_tick_seconds=60
        )
    )
    conn.execute(
        points_settings.insert().values(
            guild_id=guild_id, updated_at=T, watch_rate=2, sub_rate=5, post_minutes=30,
            earned_until=previous,
        )
    )  # fmt: skip
    for user_id in present + list(absent):
        conn.execute(
            watchtime.insert().values(
                guild_id=guild_id, platform="kick", platform_user_id=user_id, seconds=600,
                last_seen=tick_at if user_id in present else previous,
            )
        )  # fmt: skip
    for user_id in subscribers:
        conn.execute(
            sub_tiers.insert().values(
                guild_id=guild_id, platform="kick", platform_user_id=user_id, tier="1",
                source="test", since=T - timedelta(days=40), seen_at=T - timedelta(days=1),
                expires_at=T + timedelta(days=20),
            )
        )  # fmt: skip


def tick(conn: Connection, guild_id: int, at: datetime, present: list[str]) -> None:
    """What the watchtime tick of ``at`` leaves: the clock moved, the crowd's rows seen at it."""
    conn.execute(
        sa.update(watch_settings)
        .where(watch_settings.c.guild_id == guild_id)
        .values(last_tick_at=at, last_tick_seconds=60)
    )
    w = watchtime.c
    conn.execute(
        sa.update(watchtime)
        .where(w.guild_id == guild_id, w.platform_user_id.in_(present))
        .values(seconds=w.seconds + 60, last_seen=at)
    )


def accrued(engine: Engine, guild_id: int) -> dict[str, tuple[datetime, int]]:
    a = points_accrual.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.platform_user_id, a.window_start, a.watch_units).where(
                a.guild_id == guild_id
            )
        )
        return {row.platform_user_id: (row.window_start, row.watch_units) for row in rows}


def balances(engine: Engine, guild_id: int) -> dict[str, int]:
    b = points_balances.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(b.platform_user_id, b.points).where(b.guild_id == guild_id))
        return dict(rows.tuples().all())


def ledger(engine: Engine, guild_id: int) -> list[tuple[str, int, str]]:
    l = points_ledger.c  # noqa: E741
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(l.platform_user_id, l.amount, l.source_ref)
            .where(l.guild_id == guild_id)
            .order_by(l.platform_user_id)
        )
        return list(rows.tuples().all())


def test_a_window_starts_at_the_guilds_own_minute_and_the_guilds_spread_over_it() -> None:
    g = snowflake(3 * DAY_MS + 7, 1)  # a time part 7 minutes past a multiple of 30
    assert window_phase(g, 30) == 7 * 60
    assert window_start(T + timedelta(minutes=10), 30, g) == T + timedelta(minutes=7)
    assert window_start(T + timedelta(minutes=6), 30, g) == T - timedelta(minutes=23)
    assert window_start(T + timedelta(minutes=37), 30, g) == T + timedelta(minutes=37)
    # Ids below 2**22 (no time part) keep the windows of the clock.
    assert window_start(T + timedelta(minutes=10), 30, 42) == T
    # Consecutive time parts close their windows at every minute of the window, once each.
    phases = {window_phase(snowflake(DAY_MS + n, 0), 30) for n in range(30)}
    assert phases == {minute * 60 for minute in range(30)}


def test_the_tick_credits_exactly_its_crowd_at_each_viewers_rate(engine: Engine) -> None:
    g = snowflake(3 * DAY_MS + 5, 2)  # its window runs from T - 25 min to T + 5 min
    with engine.begin() as conn:
        seed_guild(
            conn, g, tick_at=T, previous=T - timedelta(seconds=60),
            present=["1", "2", "3"], absent=["4"], subscribers=["3", "4"],
        )  # fmt: skip
    [result] = make_earning(engine, T).earn_many([g])

    assert (result.present, result.seconds, result.posted_viewers) == (3, 60, 0)
    window = T - timedelta(minutes=25)
    # 60 s at 2 points a minute is 120 point-seconds; a subscriber's 5 a minute, 300.
    assert accrued(engine, g) == {"1": (window, 120), "2": (window, 120), "3": (window, 300)}
    # The same instant earned again (a retry, a restarted process): nothing moves.
    [again] = make_earning(engine, T).earn_many([g])
    assert again == EarnResult(g)
    assert accrued(engine, g) == {"1": (window, 120), "2": (window, 120), "3": (window, 300)}


def test_each_guild_posts_when_its_own_window_closes(engine: Engine) -> None:
    on_the_hour = snowflake(3 * DAY_MS, 3)  # windows at :00 and :30
    at_seven = snowflake(3 * DAY_MS + 7, 4)  # windows at :07 and :37
    guilds = [on_the_hour, at_seven]
    start = T - timedelta(minutes=1)
    with engine.begin() as conn:
        for g in guilds:
            seed_guild(conn, g, tick_at=start, previous=start - timedelta(minutes=1),
                       present=["a", "b"])  # fmt: skip
    posted_at: dict[int, list[datetime]] = {g: [] for g in guilds}
    for minute in range(0, 38):  # ticks from 19:59 to 20:36
        now = start + timedelta(minutes=minute)
        if minute:
            with engine.begin() as conn:
                for g in guilds:
                    tick(conn, g, now, ["a", "b"])
        for result in make_earning(engine, now).earn_many(guilds):
            if result.posted_viewers:
                posted_at[result.guild_id].append(now)
                assert result.posted_viewers == 2

    assert posted_at == {on_the_hour: [T, T + timedelta(minutes=30)],
                         at_seven: [T + timedelta(minutes=7)]}  # fmt: skip
    # 2 points a minute for the windows closed so far, nothing twice: the hour guild's
    # minutes from 19:58 (its clock) to 20:00, then 30 more; the other's from 19:58 to 20:07.
    assert balances(engine, on_the_hour) == {"a": 64, "b": 64}
    assert balances(engine, at_seven) == {"a": 18, "b": 18}
    refs = [ref for _, _, ref in ledger(engine, at_seven)]
    assert refs == ["2030-06-01T20:07Z:kick:a", "2030-06-01T20:07Z:kick:b"]


def test_two_processes_earning_the_same_tick_credit_it_once(postgres_engine: Engine) -> None:
    engine = postgres_engine
    guilds = [snowflake(5 * DAY_MS + n, 5) for n in range(40)]  # every phase, some twice
    with engine.begin() as conn:
        for n, g in enumerate(guilds):
            seed_guild(
                conn, g, tick_at=T, previous=T - timedelta(seconds=60),
                present=[str(v) for v in range(n % 4 + 1)], subscribers=["0"],
            )  # fmt: skip
    start = threading.Barrier(2)
    results: list[list[EarnResult]] = []

    def run() -> None:
        earning = make_earning(engine, T)
        start.wait()
        results.append(earning.earn_many(guilds))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    first, second = results
    for a, b in zip(first, second, strict=True):
        assert bool(a.seconds) != bool(b.seconds)  # one of the two earned each guild
    for n, g in enumerate(guilds):
        units = accrued(engine, g)
        expected = {str(v): 300 if v == 0 else 120 for v in range(n % 4 + 1)}
        if window_start(T, 30, g) == T:  # the window closed at T: posted, 1 minute's worth
            assert units == {}
            assert balances(engine, g) == {v: u // 60 for v, u in expected.items()}
        else:
            assert {v: u for v, (_, u) in units.items()} == expected
            assert balances(engine, g) == {}
