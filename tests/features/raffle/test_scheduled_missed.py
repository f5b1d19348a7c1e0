"""A period scheduled for later (``!rafflestart 20 25``) whose whole span passed while the bot
was down: it closes late, once, in the run that finds it, and the next period follows; it is
not announced as "a new raffle period is open" for days already over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.features.raffle.support import GUILD, RecordingAnnouncer, make_service


def test_a_scheduled_period_missed_whole_closes_in_one_run_unannounced_as_open(engine, clock):
    announcer = RecordingAnnouncer()
    raffle = make_service(engine, clock, announcer=announcer)
    scheduled = raffle.periods.start(GUILD, start_day=20, end_day=25)
    assert scheduled.status == "scheduled"
    asyncio.run(raffle.announce_pending())
    assert announcer.opened == []

    clock.now = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # back after a week down
    raffle.run_scheduled()
    asyncio.run(raffle.announce_pending())
    info = raffle.views.info(GUILD)
    assert info.last_closed is not None
    assert info.last_closed.id == scheduled.id
    assert info.last_closed.ends_at == datetime(2026, 3, 26, tzinfo=UTC)  # its dates, kept
    assert info.current is not None
    assert info.current.status == "open"
    assert info.current.starts_at == datetime(2026, 3, 26, tzinfo=UTC)
    assert info.current.ends_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert [a.period_id for a in announcer.opened] == [info.current.id]  # not the one missed
    assert [a.period_id for a in announcer.closed] == [scheduled.id]

    raffle.run_scheduled()  # the next run changes nothing
    asyncio.run(raffle.announce_pending())
    assert raffle.views.info(GUILD).current.id == info.current.id
    assert len(announcer.closed) == 1


def test_a_scheduled_period_still_running_opens(engine, clock):
    raffle = make_service(engine, clock)
    raffle.periods.start(GUILD, start_day=20, end_day=25)
    clock.now = datetime(2026, 3, 22, 9, 0, tzinfo=UTC)
    raffle.run_scheduled()
    assert raffle.views.info(GUILD).current.status == "open"
