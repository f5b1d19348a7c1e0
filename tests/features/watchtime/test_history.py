"""Watchtime hour by hour (the dashboard's charts): each tick adds its crowd to its hour in its
own transaction, on both paths (one guild, many at once), once per instant however often the
tick is run, and hours past HOURS_KEPT are forgotten; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.config import WatchtimeSettings
from core.features.watchtime.history import HOURS_KEPT, Hour, record
from core.features.watchtime.service import WatchtimeService
from tests.features.watchtime.test_service import GUILD, OTHER_GUILD, T0, at, seed_present_viewers
from tests.support.clock import Clock


@pytest.fixture
def service(engine) -> WatchtimeService:  # type: ignore[no-untyped-def]
    return WatchtimeService(engine, WatchtimeSettings(), Clock(T0))


@pytest.mark.parametrize("path", ["one", "many"])
def test_each_tick_adds_its_crowd_to_its_hour_once(engine, service, path):
    def tick(now):  # type: ignore[no-untyped-def]
        if path == "one":
            return [service.tick(g, now) for g in (GUILD, OTHER_GUILD)]
        return service.tick_many([GUILD, OTHER_GUILD], now)

    tick(T0)  # the clocks start
    seed_present_viewers(engine, GUILD, 30, at(30))
    seed_present_viewers(engine, OTHER_GUILD, 4, at(30))
    tick(at(60))
    tick(at(60))  # the same instant again: nothing more
    tick(at(120))

    [hour] = service.hours(GUILD, T0)
    assert hour == Hour(T0, 30, 2 * 30 * 60)
    assert service.hours(OTHER_GUILD, T0) == [Hour(T0, 4, 2 * 4 * 60)]

    later = T0 + timedelta(hours=1)
    tick(later - timedelta(seconds=60))  # (the first crowd's presence has run out)
    seed_present_viewers(engine, GUILD, 30, later - timedelta(seconds=30))
    tick(later)  # the next hour: a row of its own
    assert [h.hour for h in service.hours(GUILD, T0)] == [T0, later]
    assert [h.hour for h in service.hours(GUILD, later)] == [later]


def test_hours_past_the_keeping_time_are_forgotten(engine, service):
    service.tick(GUILD, T0)
    seed_present_viewers(engine, GUILD, 3, at(30))
    service.tick(GUILD, at(60))
    service.clock.advance(HOURS_KEPT - timedelta(hours=1))
    assert service.forget_old_hours() == 0
    service.clock.advance(timedelta(hours=2))
    assert service.forget_old_hours() == 1
    assert service.hours(GUILD, T0) == []


def test_an_hour_keeps_its_biggest_crowd_and_adds_up_its_seconds(engine, service):
    with engine.begin() as conn:
        record(conn, {GUILD: 10, OTHER_GUILD: 0}, 60, at(60))
        record(conn, {GUILD: 40}, 60, at(120))
        record(conn, {GUILD: 25}, 30, at(150))
        record(conn, {GUILD: 99}, 0, at(180))  # a tick that credited no seconds: nothing
    assert service.hours(GUILD, T0) == [Hour(T0, 40, 600 + 2400 + 750)]
    assert service.hours(OTHER_GUILD, T0) == []
