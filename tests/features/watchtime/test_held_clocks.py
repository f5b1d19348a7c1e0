"""A tick meets another transaction's locks (PostgreSQL, with the bot's session timeouts): a
guild whose clock is held is left out without holding up the others, and tried again at once;
a batch that meets a lock timeout is tried again at once; the compare-and-set keeps every
interval credited once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import WatchtimeSettings
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watch_settings, watchtime
from core.storage.db import create_engine
from core.storage.timeouts import SessionTimeouts
from tests.conftest import migrated_postgres_url
from tests.features.watchtime.test_service import ALICE, T0, at, chat
from tests.support.clock import Clock
from tests.support.logs import our_messages

GUILDS = [1000 + n for n in range(6)]
HELD = 1002
HOLD_CLOCK = "SELECT * FROM watch_settings WHERE guild_id = 1002 FOR UPDATE"
HOLD_TOTAL = "SELECT * FROM watchtime WHERE guild_id = 1002 FOR UPDATE"
BOUND_SECONDS = 30  # a hang, not a measurement


@pytest.fixture
def urls(request: pytest.FixtureRequest) -> str:
    return migrated_postgres_url(request)


@pytest.fixture
def bot_engine(urls: str) -> Iterator[Engine]:
    """The bot's engine, with a lock timeout of its own: a second, far above the few
    milliseconds the holders here take to let go once told to."""
    engine = create_engine(urls, SessionTimeouts(lock_ms=1000))
    yield engine
    engine.dispose()


@pytest.fixture
def other(urls: str) -> Iterator[Engine]:
    """Another process's connection, holding locks."""
    engine = create_engine(urls)
    yield engine
    engine.dispose()


def service_on(engine: Engine, interval_seconds: int = 60) -> WatchtimeService:
    service = WatchtimeService(
        engine, WatchtimeSettings(interval_seconds=interval_seconds), Clock(T0)
    )
    for guild_id in GUILDS:
        service.tick(guild_id, T0)  # every clock runs
        service.record_chat(guild_id, chat(ALICE, at(30)))
    service.tick_many(GUILDS, at(60))  # ALICE has a total everywhere
    for guild_id in GUILDS:
        service.record_chat(guild_id, chat(ALICE, at(90)))
    return service


def clocks(engine: Engine) -> dict[int, object]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(watch_settings.c.guild_id, watch_settings.c.last_tick_at))
        return dict(rows.all())


def seconds(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(watchtime.c.guild_id, watchtime.c.seconds))
        return dict(rows.all())


def holding(engine: Engine, lock: str, until: Callable[[sa.Connection], bool]) -> threading.Thread:
    """A thread whose transaction runs ``lock`` and keeps it until ``until(conn)`` (asked on
    another connection of ``engine``) is true, then commits."""
    taken = threading.Event()

    def hold() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(lock)
            taken.set()
            deadline = time.monotonic() + BOUND_SECONDS
            with engine.connect() as watcher:
                while not until(watcher) and time.monotonic() < deadline:
                    watcher.rollback()
                    time.sleep(0.02)

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(BOUND_SECONDS)
    return thread


def others_ticked(conn: sa.Connection) -> bool:
    rows = conn.execute(sa.select(watch_settings.c.guild_id, watch_settings.c.last_tick_at))
    return all(tick_at == at(120) for guild_id, tick_at in rows if guild_id != HELD)


def test_a_held_clock_holds_up_no_other_guild_and_is_ticked_once_let_go(
    bot_engine: Engine, other: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    service = service_on(bot_engine)
    # Let go only once every other guild's tick for the instant is committed: they did not
    # wait for it.
    holder = holding(other, HOLD_CLOCK, others_ticked)
    with caplog.at_level(logging.WARNING):
        results = service.tick_many(GUILDS, at(120))
    holder.join()

    assert sorted(r.guild_id for r in results) == GUILDS  # the held one too, once let go
    assert set(clocks(bot_engine).values()) == {at(120)}
    assert seconds(bot_engine) == dict.fromkeys(GUILDS, 120)
    assert our_messages(caplog) == []  # no lock timeout, no guild-by-guild fallback


def test_a_clock_held_past_the_retries_is_left_to_the_next_tick_which_credits_it_once(
    bot_engine: Engine, other: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    service = service_on(bot_engine, interval_seconds=1)  # retried for half a second
    released = threading.Event()
    holder = holding(
        other,
        HOLD_CLOCK,
        lambda _conn: released.is_set(),
    )
    try:
        with caplog.at_level(logging.WARNING):
            service.tick_many(GUILDS, at(120))
    finally:
        released.set()
        holder.join()
    assert "held by another transaction" in caplog.text
    assert clocks(bot_engine)[HELD] == at(60)
    assert seconds(bot_engine)[HELD] == 60

    service.tick_many(GUILDS, at(180))
    service.tick_many(GUILDS, at(180))  # again (another process, a retry): nothing more

    assert set(clocks(bot_engine).values()) == {at(180)}
    # Each guild: 60 s at the first instant, then the 120 s since; the held one at once.
    assert seconds(bot_engine) == dict.fromkeys(GUILDS, 180)


def test_a_batch_that_meets_a_lock_timeout_is_tried_again_at_once(
    bot_engine: Engine, other: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock on a viewer's total (not the clock): the batch waits, times out, and is done
    again whole once the lock is gone, not guild by guild."""
    service = service_on(bot_engine)
    timed_out = threading.Event()

    class TimedOut(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "met a lock timeout" in record.getMessage():
                timed_out.set()

    told = TimedOut()
    logging.getLogger("core.features.watchtime.service").addHandler(told)
    # Let go once the batch has timed out: its second try finds the total free.
    holder = holding(
        other,
        HOLD_TOTAL,
        lambda _conn: timed_out.is_set(),
    )
    with caplog.at_level(logging.INFO, logger="core.features.watchtime.service"):
        try:
            results = service.tick_many(GUILDS, at(120))
        finally:
            logging.getLogger("core.features.watchtime.service").removeHandler(told)
    holder.join()

    assert "met a lock timeout; trying it again" in caplog.text
    assert "one by one" not in caplog.text
    assert sorted(r.guild_id for r in results) == GUILDS
    assert seconds(bot_engine) == dict.fromkeys(GUILDS, 120)
