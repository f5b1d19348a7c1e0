"""Many guilds ticked at once credit exactly what each guild's own tick would: the same viewers,
the same seconds, the same clocks, first ticks and ticks another process made included. On
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.engine import Engine

from core.config import WatchtimeSettings
from core.features.watchtime import repository
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watch_settings
from tests.features.watchtime.test_service import ALICE, BOB, CAROL, T0, at, chat, ended, started
from tests.support.clock import Clock
from tests.support.logs import our_messages

ONE_BY_ONE, AT_ONCE = 1000, 2000  # two copies of the same guilds


def scenario(service: WatchtimeService, engine: Engine, base: int) -> list[int]:
    """Eight guilds in different states; their ids."""
    guilds = [base + n for n in range(8)]
    for guild_id in guilds[:7]:
        service.tick(guild_id, T0)  # every clock runs but the last guild's (a first tick)
    g = dict(enumerate(guilds))
    for viewer in (ALICE, BOB):
        service.record_chat(g[0], chat(viewer, at(30)))  # two present
    service.record_chat(g[1], chat(ALICE, at(-400)))  # gone quiet: not present
    service.record_stream_state(g[2], started(T0))
    service.record_chat(g[2], chat(ALICE, at(20)))
    service.record_stream_state(g[2], ended(at(40)))  # offline before the instant
    service.record_chat(g[3], chat(CAROL, at(50)))
    service.set_tracking(g[3], False)  # tracking off: nothing
    service.record_chat(g[4], chat(BOB, at(90)))  # after the instant only: nothing
    service.record_chat(g[5], chat(ALICE, at(10)))
    with engine.begin() as conn:  # another process ticked this one for the instant already
        repository.advance_tick(conn, g[5], T0, at(60), 60)
    service.record_chat(g[6], chat(CAROL, at(55)))
    service.record_chat(g[7], chat(ALICE, at(30)))  # first tick: only starts the clock
    return guilds


def observed(service: WatchtimeService, engine: Engine, guild_id: int, base: int):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        clock = conn.execute(
            watch_settings.select().where(watch_settings.c.guild_id == guild_id)
        ).one()
    totals = {row.platform_user_id: row.seconds for row in service.export(guild_id)}
    return guild_id - base, totals, clock.last_tick_at, clock.last_tick_seconds


def test_a_batch_of_ticks_credits_what_each_guilds_tick_would(engine: Engine, caplog):
    service = WatchtimeService(engine, WatchtimeSettings(), Clock(T0))
    one_by_one = scenario(service, engine, ONE_BY_ONE)
    at_once = scenario(service, engine, AT_ONCE)

    singles = [service.tick(guild_id, at(60)) for guild_id in one_by_one]
    with caplog.at_level(logging.WARNING):
        batch = service.tick_many(at_once, at(60))

    # The batch's own statements ran (a failing batch falls back to one tick per guild).
    assert our_messages(caplog) == []
    assert [(r.credited_viewers, r.seconds_each) for r in batch] == [
        (r.credited_viewers, r.seconds_each) for r in singles
    ]
    assert [r.credited_viewers for r in batch] == [2, 0, 0, 0, 0, 0, 1, 0]
    assert [observed(service, engine, g, AT_ONCE) for g in at_once] == [
        observed(service, engine, g, ONE_BY_ONE) for g in one_by_one
    ]


def test_the_next_batch_credits_on_and_a_repeat_for_the_same_instant_credits_nothing(
    engine: Engine,
):
    service = WatchtimeService(engine, WatchtimeSettings(), Clock(T0))
    guilds = [1, 2, 3]
    service.tick_many(guilds, T0)
    for guild_id in guilds:
        service.record_chat(guild_id, chat(ALICE, at(30)))

    first = service.tick_many(guilds, at(60))
    again = service.tick_many(guilds, at(60))
    service.record_chat(2, chat(ALICE, at(90)))
    later = service.tick_many(guilds, at(60) + timedelta(minutes=1))

    assert [r.credited_viewers for r in first] == [1, 1, 1]
    assert [r.credited_viewers for r in again] == [0, 0, 0]
    assert [r.credited_viewers for r in later] == [1, 1, 1]  # still inside the active window
    assert [row.seconds for row in service.export(2)] == [120]
