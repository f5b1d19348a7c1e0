"""A tick that runs late (the database was away, events were queued) credits what it would have
credited on time: nothing that happened after its own instant, and everything before it, even
when newer chat, a ``stream.offline`` or a ``stream.online`` was handled first. On SQLite and
on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import WatchtimeSettings
from core.events import Platform
from core.features.points.earning import PointsEarning
from core.features.points.ports import NobodySubscribes
from core.features.points.service import PointsService
from core.features.watchtime.repository import tick_bucket
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watch_presence
from tests.features.watchtime.test_service import (
    ALICE,
    BOB,
    BROADCASTER,
    CAROL,
    GUILD,
    T0,
    at,
    chat,
    ended,
    started,
    totals,
)
from tests.support.clock import Clock


@pytest.fixture
def service(engine: Engine) -> WatchtimeService:
    return WatchtimeService(engine, WatchtimeSettings(), Clock(T0))


def test_the_tick_bucket_is_the_first_tick_instant_after_the_moment():
    assert tick_bucket(T0, 60) == int(at(60).timestamp())  # the instant itself: the next tick
    assert tick_bucket(at(0.5), 60) == int(at(60).timestamp())
    assert tick_bucket(at(59.9), 60) == int(at(60).timestamp())
    assert tick_bucket(at(60), 60) == int(at(120).timestamp())


def test_a_chat_stamped_at_the_very_instant_counts_for_the_next_tick_on_time_or_late(service):
    """Kick stamps whole seconds: a chat stamped 20:01:00 reaches us after the 20:01 tick when
    it runs on time, so a late 20:01 tick must not count it either."""
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(60)))

    late = service.tick(GUILD, at(60))

    assert late.credited_viewers == 0
    service.tick(GUILD, at(120))
    assert totals(service) == {ALICE.platform_user_id: 60}


def test_a_late_tick_does_not_credit_viewers_whose_first_chat_came_after_its_instant(service):
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(30)))
    # The tick for 20:01 runs late: meanwhile Bob and Carol chatted for the first time.
    service.record_chat(GUILD, chat(BOB, at(65)))
    service.record_chat(GUILD, chat(CAROL, at(118)))

    late = service.tick(GUILD, at(60))

    assert (late.credited_viewers, late.seconds_each) == (1, 60)
    assert totals(service) == {ALICE.platform_user_id: 60}
    # On its own time, the next tick counts them.
    service.tick(GUILD, at(120))
    assert totals(service) == {
        ALICE.platform_user_id: 120,
        BOB.platform_user_id: 60,
        CAROL.platform_user_id: 60,
    }


def test_a_late_tick_still_credits_a_viewer_who_chatted_before_and_after_its_instant(service):
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(50)))
    service.record_chat(GUILD, chat(ALICE, at(70)))  # handled before the late tick
    service.record_chat(GUILD, chat(ALICE, at(80)))

    assert service.tick(GUILD, at(60)).credited_viewers == 1
    assert totals(service) == {ALICE.platform_user_id: 60}


def test_an_older_chat_delivered_late_still_counts_for_its_own_tick(service):
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(70)))  # the newer message arrived first
    service.record_chat(GUILD, chat(ALICE, at(20)))  # then the older one, redelivered

    assert service.tick(GUILD, at(60)).credited_viewers == 1
    assert totals(service) == {ALICE.platform_user_id: 60}


def test_nothing_is_lost_when_the_stream_ends_before_a_late_tick_runs(service):
    service.tick(GUILD, T0)
    service.record_stream_state(GUILD, started(T0))
    service.record_chat(GUILD, chat(ALICE, at(30)))
    service.record_stream_state(GUILD, ended(at(75)))  # handled before the tick for 20:01

    assert service.tick(GUILD, at(60)).credited_viewers == 1
    # The stream was over at the next tick's instant: nothing more.
    assert service.tick(GUILD, at(120)).credited_viewers == 0
    assert totals(service) == {ALICE.platform_user_id: 60}


def test_a_stream_that_ended_before_the_instant_is_not_credited_however_late(service):
    service.tick(GUILD, T0)
    service.record_stream_state(GUILD, started(T0))
    service.record_chat(GUILD, chat(ALICE, at(30)))
    service.record_stream_state(GUILD, ended(at(40)))

    assert service.tick(GUILD, at(60)).credited_viewers == 0


@pytest.mark.parametrize("ticked", ["tick", "tick_many"])
def test_a_late_tick_does_not_credit_chat_before_a_stream_that_went_live_after_its_instant(
    service, ticked
):
    """Chat while the channel was offline, then the stream starts after the 20:01 instant; the
    tick for 20:01 runs late (a takeover's catch-up, the database away), after the start was
    handled: the channel was offline for its whole interval, as an on-time tick saw."""
    service.tick(GUILD, T0)
    service.record_stream_state(GUILD, ended(at(-3600)))  # last night's stream
    service.record_chat(GUILD, chat(ALICE, at(30)))  # pre-stream chat, channel offline
    service.record_stream_state(GUILD, started(at(75)))

    if ticked == "tick":
        assert service.tick(GUILD, at(60)).credited_viewers == 0
    else:
        assert [r.credited_viewers for r in service.tick_many([GUILD], at(60))] == [0]
    assert totals(service) == {}


def test_a_stream_that_went_live_at_the_very_instant_counts_from_the_next_tick(service):
    service.tick(GUILD, T0)
    service.record_stream_state(GUILD, ended(at(-3600)))
    service.record_chat(GUILD, chat(ALICE, at(30)))
    service.record_stream_state(GUILD, started(at(60)))
    service.record_chat(GUILD, chat(ALICE, at(90)))

    assert service.tick(GUILD, at(60)).credited_viewers == 0
    assert service.tick(GUILD, at(120)).credited_viewers == 1
    assert totals(service) == {ALICE.platform_user_id: 60}


def test_a_later_copy_of_the_end_does_not_make_the_ended_stream_live_for_a_late_tick(service):
    """Kick's webhook says the stream ended at 20:00:00 (``ended_at``); Pusher's
    StopStreamBroadcast copy of the same end carries no time and is stamped when received
    (20:01:03). The copy must not move the end to 20:01:03, which would make the late tick
    for 20:01 pay the chat said after the stream."""
    service.tick(GUILD, T0)
    service.record_stream_state(GUILD, started(at(-3600)))
    service.record_stream_state(GUILD, ended(at(0)))  # webhook: ended_at 20:00:00
    service.record_chat(GUILD, chat(ALICE, at(30)))  # chat after the stream ended
    service.record_stream_state(GUILD, ended(at(63)))  # Pusher's copy, stamped on receipt

    assert service.tick(GUILD, at(60)).credited_viewers == 0
    assert totals(service) == {}


def test_a_later_copy_of_the_start_keeps_the_stream_live_since_its_first_stamp(service):
    """The other way round: the start's copy stamped on receipt after the late tick's instant
    does not make the stream offline until then."""
    service.tick(GUILD, T0)
    service.record_stream_state(GUILD, ended(at(-3600)))
    service.record_stream_state(GUILD, started(at(0)))  # webhook: started_at 20:00:00
    service.record_chat(GUILD, chat(ALICE, at(30)))
    service.record_stream_state(GUILD, started(at(63)))  # Pusher's copy, stamped on receipt

    assert service.tick(GUILD, at(60)).credited_viewers == 1
    assert totals(service) == {ALICE.platform_user_id: 60}


def test_presence_kept_before_the_upgrade_counts_as_an_earlier_bucket(service, engine):
    service.tick(GUILD, T0)
    with engine.begin() as conn:  # a row as migration 0020 found it: no bucket
        conn.execute(
            sa.insert(watch_presence).values(
                guild_id=GUILD,
                platform="kick",
                broadcaster_user_id=BROADCASTER,
                platform_user_id=ALICE.platform_user_id,
                last_active_at=at(30),
            )
        )
    service.record_chat(GUILD, chat(ALICE, at(90)))

    assert service.tick(GUILD, at(60)).credited_viewers == 1


def test_points_for_watching_never_exceed_what_the_tick_credited(engine):
    clock = Clock(T0)
    watching = WatchtimeService(engine, WatchtimeSettings(), clock)
    points = PointsService(engine, clock)
    earning = PointsEarning(
        engine, clock, NobodySubscribes(), timedelta(minutes=5), lambda: [GUILD]
    )
    watching.tick(GUILD, T0)
    earning.earn_all()
    for minute in range(1, 31):
        watching.record_chat(GUILD, chat(ALICE, at(60 * minute - 30)))
        watching.tick(GUILD, at(60 * minute))
        # Bob's first message lands between the tick and the points step, every time.
        watching.record_chat(GUILD, chat(BOB, at(60 * minute + 1)))
        earning.earn_all()

    def earned(user_id: str) -> int:  # posted, and accrued in the guild's window still open
        return points.balance(GUILD, Platform.KICK, user_id) + points.pending(
            GUILD, Platform.KICK, user_id
        )

    alice, bob = earned(ALICE.platform_user_id), earned(BOB.platform_user_id)
    watched = totals(watching)
    assert alice == watched[ALICE.platform_user_id] // 60 == 30
    assert bob == watched[BOB.platform_user_id] // 60  # Bob earned only what he watched


# --- ticks more than an interval late (a takeover, a barrier that waited) ------------------------

FAST = WatchtimeSettings(interval_seconds=5, active_window_minutes=1)


@pytest.fixture
def fast(engine: Engine) -> WatchtimeService:
    """Ticks every 5 s and a one-minute window, as the durability runs have them."""
    return WatchtimeService(engine, FAST, Clock(T0))


def test_a_takeover_tick_credits_a_viewer_who_chatted_17_s_before_it_and_twice_since(fast):
    """The last owner ticked at 20:00:00 and died; the new owner's catch-up tick for 20:00:20
    waits on the barrier and runs at 20:00:30, after the viewer's messages of 20:00:22 and
    20:00:27 were handled (two later tick instants). It credits the 20 s it closes."""
    fast.tick(GUILD, T0)
    fast.record_chat(GUILD, chat(ALICE, at(3)))  # 17 s before the takeover tick's instant
    fast.record_chat(GUILD, chat(ALICE, at(22)))
    fast.record_chat(GUILD, chat(ALICE, at(27)))

    late = fast.tick(GUILD, at(20))

    assert (late.credited_viewers, late.seconds_each) == (1, 20)
    assert fast.tick(GUILD, at(30)).credited_viewers == 1
    assert totals(fast) == {ALICE.platform_user_id: 30}


@pytest.mark.parametrize("order", ["in order", "newest first", "oldest last"])
def test_a_tick_a_whole_window_late_counts_exactly_what_came_before_its_instant(fast, order):
    """Alice chats every 5 s from before the instant to 50 s after it; Bob only after it; Carol
    was silent for more than the window, chatted 1 s before the instant, then again 61 s later
    (a new run); the handling order changes nothing."""
    fast.tick(GUILD, T0)
    chats = [
        *(chat(ALICE, at(s)) for s in range(2, 71, 5)),
        chat(BOB, at(21)),
        chat(CAROL, at(19)),
        chat(CAROL, at(80)),
    ]
    if order == "newest first":
        chats.reverse()
    elif order == "oldest last":
        chats = chats[1:] + chats[:1]
    for message in chats:
        fast.record_chat(GUILD, message)

    late = fast.tick(GUILD, at(20))

    assert (late.credited_viewers, late.seconds_each) == (2, 20)
    assert totals(fast) == {ALICE.platform_user_id: 20, CAROL.platform_user_id: 20}


def test_a_late_delivery_from_before_a_silence_counts_for_its_own_late_tick(fast):
    """Carol's run at 20:01:10-20:01:20 was handled first; her message of 20:00:15 (more than a
    window before that run) arrives late, and the late tick for 20:00:20 counts it."""
    fast.tick(GUILD, T0)
    fast.record_chat(GUILD, chat(CAROL, at(80)))
    fast.record_chat(GUILD, chat(CAROL, at(90)))
    fast.record_chat(GUILD, chat(CAROL, at(15)))

    assert fast.tick(GUILD, at(20)).credited_viewers == 1
    assert fast.tick(GUILD, at(75)).credited_viewers == 1  # 20:00:15 is 60 s old
    assert fast.tick(GUILD, at(80)).credited_viewers == 0  # 61 s: absent until the new run
    assert fast.tick(GUILD, at(85)).credited_viewers == 1
    assert totals(fast) == {CAROL.platform_user_id: 20 + 55 + 5}
