"""The raffle's period list (the dashboard's "Periods"): newest first, per guild, cancelled
periods left out, each with its draws; a proof only once a closed period is drawn."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.features.raffle.support import GUILD, make_service
from tests.support.clock import Clock


def test_periods_newest_first_with_their_draws(engine):
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    raffle = make_service(engine, clock)
    first = raffle.periods.start(GUILD)
    raffle.periods.start(GUILD + 1)  # another guild's
    clock.advance(hours=1)
    raffle.periods.end(GUILD)
    scheduled = raffle.periods.start(GUILD, start_day=20, end_day=25)
    clock.advance(hours=1)
    raffle.periods.end(GUILD)  # cancels the scheduled one
    rows = raffle.views.periods(GUILD)
    assert [row.period.id for row in rows] == [first.id]
    assert scheduled.id not in [row.period.id for row in rows]
    assert rows[0].period.status == "closed"
    assert rows[0].draws == []
    assert not rows[0].has_proof
    waiting = raffle.draws.request(GUILD, actor_id=1)  # no beacon here: it waits
    assert not raffle.views.periods(GUILD)[0].has_proof
    raffle.draws.force(GUILD, actor_id=1)
    (row,) = raffle.views.periods(GUILD)
    assert [draw.id for draw in row.draws] == [waiting.id]
    assert row.has_proof
