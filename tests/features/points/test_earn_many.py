"""Points for watching earned for many guilds at once leave exactly the tables that earning each
guild on its own leaves: balances, ledger rows, accruals and earnings clocks, on SQLite and
PostgreSQL. The guilds' states are drawn from a seeded generator: rates and posting windows of
every size, tracking off, guilds never ticked, earned for this tick already or with their clock
far behind, first earnings, subscribers (and expired ones), crowds credited by the tick in some
guilds only, windows closing in some, accrued chat, rows already posted and quiet rows dropped.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.events import utc
from core.features.points import earning as earning_module
from core.features.points.accrual import earn_ref, window_start
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
from tests.support.logs import our_messages

T = datetime(2030, 6, 1, 20, 30, tzinfo=UTC)  # a posting window's end for most window sizes
ONE_BY_ONE, AT_ONCE, AGAIN = 10_000, 20_000, 30_000  # copies of the same guilds
GUILDS = 60
SEED = 26


class PerGuildSubscribers:
    """A Subscribers port that answers guild by guild only (no ``subscribed_many``)."""

    def __init__(self, inner: TierSubscribers) -> None:
        self.inner = inner

    def subscribed(self, conn, guild_id, platform, user_ids):  # type: ignore[no-untyped-def]
        return self.inner.subscribed(conn, guild_id, platform, user_ids)


def build(conn: Connection, base: int, seed: int, count: int = GUILDS) -> list[int]:
    """``count`` guilds in states drawn from ``seed``, their ids from ``base`` on (the same
    seed builds the same states at another base)."""
    rng = random.Random(seed)  # noqa: S311 (test states, not secrets)
    guilds = []
    for n in range(count):
        g = base + n
        guilds.append(g)
        now = T + timedelta(seconds=rng.choice([0, 0, 20, 60, 7 * 60, 45 * 60]))
        ticked = rng.random() < 0.9
        if ticked or rng.random() < 0.5:
            conn.execute(
                watch_settings.insert().values(
                    guild_id=g,
                    tracking_enabled=rng.random() < 0.85,
                    last_tick_at=now if ticked else None,
                    last_tick_seconds=rng.choice([60, 60, 20, 0, 300]),
                )
            )
        post_minutes = rng.choice([1, 5, 10, 30, 30, 60])
        if rng.random() < 0.85:
            previous = rng.choice(
                [None, now - timedelta(seconds=60), now - timedelta(seconds=60), now,
                 now - timedelta(hours=1), now + timedelta(seconds=60), now - timedelta(seconds=7)]
            )  # fmt: skip
            conn.execute(
                points_settings.insert().values(
                    guild_id=g,
                    updated_at=T - timedelta(days=1),
                    watch_rate=rng.randint(0, 5),
                    sub_rate=rng.randint(0, 6),
                    post_minutes=post_minutes,
                    earned_until=previous,
                )
            )
        else:
            post_minutes = 30  # the default rates
        current = window_start(now, post_minutes, g)
        viewers = [
            (rng.choice(["kick", "kick", "twitch"]), str(rng.randint(1, 40)))
            for _ in range(rng.choice([0, 1, 3, 12]))
        ]
        for platform, user_id in dict.fromkeys(viewers):
            credited = rng.random() < 0.75
            conn.execute(
                watchtime.insert().values(
                    guild_id=g, platform=platform, platform_user_id=user_id,
                    seconds=rng.randint(60, 9000),
                    last_seen=now if credited else now - timedelta(seconds=60),
                )
            )  # fmt: skip
            if rng.random() < 0.3:
                expires = now + timedelta(days=rng.choice([-1, 20]))  # expired, or not
                conn.execute(
                    sub_tiers.insert().values(
                        guild_id=g, platform=platform, platform_user_id=user_id, tier="1",
                        source="test", since=now - timedelta(days=40),
                        seen_at=now - timedelta(days=10), expires_at=expires,
                    )
                )  # fmt: skip
        others = [("kick", str(100 + k)) for k in range(rng.choice([0, 2]))]
        for platform, user_id in dict.fromkeys(viewers + others):
            if rng.random() < 0.6:
                window = rng.choice(
                    [current, current - timedelta(minutes=post_minutes),
                     current - timedelta(hours=5)]
                )  # fmt: skip
                conn.execute(
                    points_accrual.insert().values(
                        guild_id=g, platform=platform, platform_user_id=user_id,
                        window_start=window, watch_units=rng.choice([0, 0, 59, 60, 61, 1799]),
                        chat_points=rng.choice([0, 0, 3]),
                        last_chat_at=rng.choice([None, now - timedelta(minutes=10),
                                                 now - timedelta(hours=2)]),
                        chat_count=rng.randint(0, 3),
                    )
                )  # fmt: skip
                if window < current and rng.random() < 0.15:  # posted before (a retry's)
                    conn.execute(
                        points_ledger.insert().values(
                            guild_id=g, platform=platform, platform_user_id=user_id, amount=7,
                            source="earn", source_ref=earn_ref(current, platform, user_id),
                            reason="", created_at=current,
                        )
                    )  # fmt: skip
            if rng.random() < 0.4:
                conn.execute(
                    points_balances.insert().values(
                        guild_id=g, platform=platform, platform_user_id=user_id,
                        points=rng.randint(0, 500),
                    )
                )  # fmt: skip
    return guilds


def tables(engine: Engine, base: int) -> dict[str, list[tuple]]:
    """What earning writes, the copy at ``base`` told apart from the others, its ids made
    relative."""
    lo, hi = base, base + 10_000
    found = {}
    with engine.connect() as conn:
        for table, columns in [
            (points_settings, ["guild_id", "earned_until", "watch_rate", "post_minutes"]),
            (points_accrual, [c.name for c in points_accrual.columns]),
            (points_balances, [c.name for c in points_balances.columns]),
            (points_ledger, [c.name for c in points_ledger.columns if c.name != "id"]),
        ]:
            cols = [table.c[name] for name in columns]
            rows = conn.execute(
                sa.select(*cols).where(table.c.guild_id >= lo, table.c.guild_id < hi)
            ).all()
            found[table.name] = sorted(
                (row[0] - base, *(utc(v) if isinstance(v, datetime) else v for v in row[1:]))
                for row in rows
            )
    return found


def relative(results: list[EarnResult], base: int) -> list[tuple]:
    return [(r.guild_id - base, r.present, r.seconds, r.posted_viewers, r.posted_points)
            for r in results]  # fmt: skip


def make_earning(engine: Engine, subscribers=None) -> PointsEarning:  # type: ignore[no-untyped-def]
    clock = Clock(T + timedelta(minutes=1))
    return PointsEarning(
        engine, clock, subscribers or TierSubscribers(clock), timedelta(minutes=5), lambda: []
    )


@pytest.mark.parametrize("port", ["many", "per guild"])
def test_earning_many_guilds_at_once_leaves_what_earning_each_guild_leaves(
    engine: Engine, port: str, monkeypatch, caplog
):
    monkeypatch.setattr(earning_module, "EARN_BATCH", 7)  # batches end mid-state, and a short one
    earning = make_earning(engine)
    if port == "per guild":
        earning.subscribers = PerGuildSubscribers(earning.subscribers)  # type: ignore[arg-type]
    with engine.begin() as conn:
        one_by_one = build(conn, ONE_BY_ONE, SEED)
        at_once = build(conn, AT_ONCE, SEED)
    before = tables(engine, AT_ONCE)
    assert before == tables(engine, ONE_BY_ONE)

    singles = [earning.earn(g) for g in one_by_one]
    with caplog.at_level(logging.WARNING):
        batch = earning.earn_many(at_once)

    # The batches' own statements ran (a failing batch falls back to one guild at a time).
    assert our_messages(caplog) == []
    assert relative(batch, AT_ONCE) == relative(singles, ONE_BY_ONE)
    after = tables(engine, AT_ONCE)
    assert after == tables(engine, ONE_BY_ONE)
    # The states drawn cover what they should: credits, subscribers, postings, skipped guilds.
    assert after != before
    assert sum(r.present for r in batch) > 20
    assert sum(r.posted_viewers for r in batch) > 10
    assert sum(1 for r in batch if r.seconds == 0 and r.posted_viewers == 0) > 10
    with engine.connect() as conn:
        subscribers = conn.execute(
            sa.select(sa.func.count())
            .select_from(sub_tiers)
            .where(sub_tiers.c.guild_id >= AT_ONCE, sub_tiers.c.expires_at > T)
        ).scalar_one()
    assert subscribers > 5


def test_earning_the_same_tick_again_changes_nothing(engine: Engine, monkeypatch):
    monkeypatch.setattr(earning_module, "EARN_BATCH", 9)
    earning = make_earning(engine)
    with engine.begin() as conn:
        guilds = build(conn, AGAIN, SEED + 1)
    first = earning.earn_many(guilds)
    after_first = tables(engine, AGAIN)
    again = earning.earn_many(guilds)
    assert tables(engine, AGAIN) == after_first
    assert any(r.posted_viewers for r in first)
    assert [(r.present, r.seconds, r.posted_viewers) for r in again] == [(0, 0, 0)] * len(guilds)


def test_two_processes_earning_many_guilds_at_once_credit_each_once(
    postgres_engine: Engine, monkeypatch
):
    """Two threads, each its own connection, earn the same guilds at the same moment: every
    guild's clock is moved once, by one of them, and the tables are those of a single run."""
    monkeypatch.setattr(earning_module, "EARN_BATCH", 11)
    engine = postgres_engine
    with engine.begin() as conn:
        guilds = build(conn, AT_ONCE, SEED + 2)
        single = build(conn, ONE_BY_ONE, SEED + 2)
    make_earning(engine).earn_many(single)

    start = threading.Barrier(2)
    results: list[list[EarnResult]] = []

    def run() -> None:
        earning = make_earning(engine)
        start.wait()
        results.append(earning.earn_many(guilds))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert tables(engine, AT_ONCE) == tables(engine, ONE_BY_ONE)
    first, second = results
    for a, b in zip(first, second, strict=True):  # a guild's earnings went to one run at most
        assert not (a.seconds and b.seconds)
        assert not (a.posted_viewers and b.posted_viewers)
    posted = sum(r.posted_viewers for r in first + second)
    assert posted > 10
