"""The raffle's period list (the dashboard's "Periods"): newest first, per guild, cancelled
periods left out, each with its draws; a proof only once a closed period is drawn."""

from __future__ import annotations

from datetime import UTC, datetime

from core.features.raffle.draws.repository import list_draws_of_period
from tests.features.raffle.proof_scenario import build
from tests.features.raffle.support import GUILD, make_service
from tests.support.clock import Clock
from tests.support.statements import statements_of


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


def test_rafflestart_late_in_the_month_dates_the_period_as_docs_raffle_md_says(engine):
    # docs/raffle.md, "Periods": without days the period runs from the command to the end of
    # the month; with a start day (here the 1st, on the 25th) it is dated from that day.
    clock = Clock(datetime(2026, 3, 25, 18, 30, tzinfo=UTC))
    raffle = make_service(engine, clock)
    now_on = raffle.periods.start(GUILD)
    assert (now_on.starts_at, now_on.ends_at) == (clock(), datetime(2026, 4, 1, tzinfo=UTC))
    raffle.periods.end(GUILD)
    from_the_first = raffle.periods.start(GUILD, start_day=1)
    assert from_the_first.starts_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert from_the_first.status == "open"


def test_the_period_list_reads_draws_and_winners_at_once_and_no_participants(engine):
    """The dashboard's raffle page: a year of periods costs three statements, not two per
    period and one per draw, and never reads a period's frozen participants (issue 27)."""
    raffle, drawn = build(engine)  # closed, two draws (the second a reroll) with winners
    raffle.periods.end(GUILD)  # the next month's, opened by the close
    for _ in range(2):
        raffle.periods.start(GUILD)
        raffle.periods.end(GUILD)
    with statements_of(engine) as statements:
        rows = raffle.views.periods(GUILD)
    assert len(statements) <= 3, statements
    assert not any("raffle_periods.eligible" in s for s in statements)
    assert len(rows) == 4
    assert all(row.period.eligible is None for row in rows)
    with engine.connect() as conn:
        for row in rows:
            assert row.draws == list_draws_of_period(conn, GUILD, row.period.id)
    [shown] = [row for row in rows if row.period.id == drawn]
    assert len(shown.draws) == 2
    assert all(draw.winners for draw in shown.draws)
    assert shown.has_proof
