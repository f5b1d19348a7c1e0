"""Watchtime: who gains how many seconds at each tick, on SQLite and on PostgreSQL.

Every scenario drives :class:`WatchtimeService` the way the runtime does: chat and stream-status
events built directly (Kick, broadcaster ``123456789``) and ticks on a clock the test moves.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import WatchtimeSettings
from core.events import ChatMessageSent, Platform, StreamEnded, StreamStarted, Viewer
from core.features.chat_bots import ChatBots
from core.features.viewers.repository import remember_viewers
from core.features.watchtime import repository
from core.features.watchtime.service import RankedWatchtime, TickResult, WatchtimeService
from core.features.watchtime.standings_repository import WatchtimeRow
from core.features.watchtime.tables import watch_presence, watchtime
from tests.support.clock import Clock
from tests.support.events import chat_message

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BROADCASTER = "123456789"
OTHER_BROADCASTER = "987654321"
GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
THIRD_GUILD = 333_333_333_333_333_333
ALICE = Viewer("1001", "Alice")
BOB = Viewer("1002", "bob")
CAROL = Viewer("1003", "carol")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def chat(
    viewer: Viewer, occurred_at: datetime, broadcaster: str = BROADCASTER, event_id: str = ""
) -> ChatMessageSent:
    return chat_message(
        "hi", broadcaster=broadcaster, viewer=viewer, at=occurred_at, event_id=event_id or None
    )


def started(occurred_at: datetime, broadcaster: str = BROADCASTER) -> StreamStarted:
    return StreamStarted(
        platform=Platform.KICK,
        event_id=uuid.uuid4().hex,
        broadcaster_user_id=broadcaster,
        occurred_at=occurred_at,
        title="live!",
    )


def ended(occurred_at: datetime, broadcaster: str = BROADCASTER) -> StreamEnded:
    return StreamEnded(
        platform=Platform.KICK,
        event_id=uuid.uuid4().hex,
        broadcaster_user_id=broadcaster,
        occurred_at=occurred_at,
    )


def totals(service: WatchtimeService, guild_id: int = GUILD) -> dict[str, int]:
    """Seconds per platform user id in the guild."""
    return {row.platform_user_id: row.seconds for row in service.export(guild_id)}


def seed_watchtime(engine: Engine, guild_id: int, rows: dict[Viewer, int]) -> None:
    """Give viewers stored totals directly (for tests whose subject is reading them back)."""
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, rows, T0)
        conn.execute(
            sa.insert(watchtime),
            [
                {
                    "guild_id": guild_id,
                    "platform": "kick",
                    "platform_user_id": viewer.platform_user_id,
                    "seconds": seconds,
                    "last_seen": T0,
                }
                for viewer, seconds in rows.items()
            ],
        )


def seed_present_viewers(engine: Engine, guild_id: int, count: int, active_at: datetime) -> None:
    """``count`` viewers who chatted at ``active_at``, written in one go to keep the test fast."""
    crowd = [Viewer(f"{guild_id % 1000}{index:05d}", f"viewer{index}") for index in range(count)]
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, crowd, active_at)
        conn.execute(
            sa.insert(watch_presence),
            [
                {
                    "guild_id": guild_id,
                    "platform": "kick",
                    "broadcaster_user_id": BROADCASTER,
                    "platform_user_id": viewer.platform_user_id,
                    "last_active_at": active_at,
                }
                for viewer in crowd
            ],
        )


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def ticks() -> list[TickResult]:
    return []


@pytest.fixture
def service(engine: Engine, clock: Clock, ticks: list[TickResult]) -> WatchtimeService:
    return WatchtimeService(engine, WatchtimeSettings(), clock, on_tick=ticks.append)


# --- the tick clock ----------------------------------------------------------------------------


def test_first_tick_of_a_guild_only_starts_its_clock(service, clock):
    service.record_chat(GUILD, chat(ALICE, at(-30)))

    result = service.tick(GUILD)

    assert (result.credited_viewers, result.seconds_each) == (0, 0)
    assert totals(service) == {}
    assert service.tracking_status(GUILD).last_tick_at == T0


def test_viewer_who_chatted_while_live_gains_the_elapsed_interval(service, clock, ticks):
    service.tick(GUILD)
    service.record_chat(GUILD, chat(ALICE, clock.advance(10)))

    clock.advance(50)
    result = service.tick(GUILD)

    assert result.guild_id == GUILD
    assert (result.credited_viewers, result.seconds_each) == (1, 60)
    assert totals(service) == {ALICE.platform_user_id: 60}
    assert ticks[-1] == result  # the runtime's metrics hook sees every tick

    clock.advance(75)
    assert service.tick(GUILD).seconds_each == 75
    (row,) = service.export(GUILD)
    assert row.seconds == 135
    assert type(row.seconds) is int


CREDIT_AFTER_A_GAP = {  # seconds since the guild's previous tick -> seconds credited
    "one second": (1, 1),
    "one interval": (60, 60),
    "just under the window": (299, 299),
    "exactly the window": (300, 300),
    "just over the window": (301, 300),
    "an hour of downtime": (3600, 300),
}


def test_credit_is_the_elapsed_time_capped_at_the_active_window(service):
    credited = {}
    for guild_id, (case, (gap, _)) in enumerate(CREDIT_AFTER_A_GAP.items(), start=GUILD):
        service.tick(guild_id, T0)
        service.record_chat(guild_id, chat(ALICE, at(gap - 0.5)))  # just before the late tick
        credited[case] = service.tick(guild_id, at(gap)).seconds_each
        assert totals(service, guild_id) == {ALICE.platform_user_id: credited[case]}

    assert credited == {case: expected for case, (_, expected) in CREDIT_AFTER_A_GAP.items()}


def test_microseconds_in_now_neither_create_nor_lose_seconds(service, clock):
    clock.now = T0 + timedelta(microseconds=250_000)
    step = timedelta(seconds=60, microseconds=700_000)
    moments = [clock.now + step * index for index in range(101)]
    credited = []
    for index, moment in enumerate(moments):
        if index % 4 == 0:  # a message every four minutes keeps Alice present throughout
            service.record_chat(GUILD, chat(ALICE, moment))
        credited.append(service.tick(GUILD, moment).seconds_each)

    whole_second_steps = [
        int(later.timestamp()) - int(earlier.timestamp())
        for earlier, later in itertools.pairwise(moments)
    ]
    assert credited[0] == 0
    assert credited[1:] == whole_second_steps
    assert set(whole_second_steps) == {60, 61}
    assert totals(service) == {ALICE.platform_user_id: sum(whole_second_steps)}
    assert sum(whole_second_steps) == 6070  # 100 x 60.7 s, from 0.25 s to 6070.25 s


REPEATED_TICKS = {  # a tick at the previous tick's time plus this offset
    "same now twice": timedelta(0),
    "same whole second": timedelta(milliseconds=900),
    "clock went backwards": timedelta(seconds=-30),
}


def test_tick_not_after_the_previous_one_credits_nothing(service):
    for guild_id, offset in enumerate(REPEATED_TICKS.values(), start=GUILD):
        service.tick(guild_id, T0)
        service.record_chat(guild_id, chat(ALICE, at(10)))
        assert service.tick(guild_id, at(60)).seconds_each == 60

        repeated = service.tick(guild_id, at(60) + offset)

        assert (repeated.credited_viewers, repeated.seconds_each) == (0, 0)
        assert service.tick(guild_id, at(120)).seconds_each == 60  # the clock did not move back
        assert totals(service, guild_id) == {ALICE.platform_user_id: 120}


# --- presence: the active window -----------------------------------------------------------


MESSAGE_AGE_AT_THE_TICK = {  # seconds between the last message and the tick -> credited
    "chatted at the tick's very instant": (0, 0),  # the next tick counts it
    "chatted a second before the tick": (1, 60),
    "within the interval": (30, 60),
    "just inside the window": (299, 60),
    "exactly at the window boundary": (300, 60),
    "one second too old": (301, 0),
    "an hour old": (3600, 0),
}


def test_only_viewers_who_chatted_within_the_active_window_are_credited(service):
    credited = {}
    for guild_id, (case, (age, _)) in enumerate(MESSAGE_AGE_AT_THE_TICK.items(), start=GUILD):
        service.tick(guild_id, at(-60))
        service.record_chat(guild_id, chat(ALICE, at(-age)))
        result = service.tick(guild_id, T0)
        credited[case] = totals(service, guild_id).get(ALICE.platform_user_id, 0)
        assert result.credited_viewers == (1 if credited[case] else 0)

    assert credited == {case: expected for case, (_, expected) in MESSAGE_AGE_AT_THE_TICK.items()}


def test_one_message_keeps_a_viewer_present_for_the_active_window_only(service, clock):
    service.tick(GUILD)
    service.record_chat(GUILD, chat(ALICE, clock.now))

    credited = [service.tick(GUILD, at(60 * minute)).credited_viewers for minute in range(1, 8)]

    assert credited == [1, 1, 1, 1, 1, 0, 0]
    assert totals(service) == {ALICE.platform_user_id: 300}


def test_chat_from_another_channel_of_a_twitch_shared_chat_is_no_presence(service):
    """In a Shared Chat session Twitch shows the partner channel's messages in ours, naming
    the channel they were typed in; our own channel's messages name ours."""
    service.tick(GUILD, T0)
    service.record_chats(
        GUILD,
        [
            chat_message(
                "hi from next door",
                platform=Platform.TWITCH,
                broadcaster=BROADCASTER,
                viewer=ALICE,
                at=at(10),
                source_broadcaster_user_id=OTHER_BROADCASTER,
            ),
            chat_message(
                "hi",
                platform=Platform.TWITCH,
                broadcaster=BROADCASTER,
                viewer=BOB,
                at=at(20),
                source_broadcaster_user_id=BROADCASTER,
            ),
        ],
    )

    assert service.tick(GUILD, at(60)).credited_viewers == 1
    assert totals(service) == {BOB.platform_user_id: 60}


def test_window_length_comes_from_the_settings(sqlite_engine, clock):
    service = WatchtimeService(sqlite_engine, WatchtimeSettings(active_window_minutes=2), clock)
    service.tick(GUILD)
    service.record_chat(GUILD, chat(ALICE, at(590)))

    assert service.tick(GUILD, at(600)).seconds_each == 120  # capped at 2 min, not 5
    assert service.tick(GUILD, at(720)).credited_viewers == 0  # the message is 130 s old


# --- stream state ------------------------------------------------------------------------------


STATUS_SEQUENCES = {  # status events delivered, in this order -> seconds credited
    "no status ever seen counts as live": ([], 60),
    "live": ([started(at(1))], 60),
    "offline": ([ended(at(1))], 0),
    "started then ended": ([started(at(1)), ended(at(2))], 0),
    "ended then started again": ([ended(at(1)), started(at(2))], 60),
    "late end older than the start does not flip": ([started(at(2)), ended(at(1))], 60),
    "replayed start": ([started(at(2)), started(at(2))], 60),
    "the previous stream's end after the next one's start does not flip": (
        [started(at(1)), started(at(3)), ended(at(2))],
        60,
    ),
    "an end after the latest start ends it": ([started(at(1)), started(at(3)), ended(at(4))], 0),
    "another channel went offline": ([ended(at(1), broadcaster=OTHER_BROADCASTER)], 60),
}


def test_stream_state_decides_whether_chat_counts(service):
    credited = {}
    for guild_id, (case, (statuses, _)) in enumerate(STATUS_SEQUENCES.items(), start=GUILD):
        service.tick(guild_id, T0)
        for status in statuses:
            service.record_stream_state(guild_id, status)
        service.record_chat(guild_id, chat(ALICE, at(30)))
        service.tick(guild_id, at(60))
        credited[case] = totals(service, guild_id).get(ALICE.platform_user_id, 0)

    assert credited == {case: expected for case, (_, expected) in STATUS_SEQUENCES.items()}


def test_offline_time_is_not_credited_when_the_stream_starts_again(service, clock):
    service.tick(GUILD)
    service.record_stream_state(GUILD, ended(clock.now))
    for _ in range(10):  # ten offline minutes, with chat
        service.record_chat(GUILD, chat(ALICE, clock.advance(30)))
        assert service.tick(GUILD, clock.advance(30)).credited_viewers == 0

    service.record_stream_state(GUILD, started(clock.advance(10)))
    service.record_chat(GUILD, chat(ALICE, clock.advance(10)))

    assert service.tick(GUILD, clock.advance(40)).seconds_each == 60
    assert totals(service) == {ALICE.platform_user_id: 60}


# --- idempotent chat handling --------------------------------------------------------------


def test_replayed_or_repeated_chats_neither_add_time_nor_move_presence_back(service):
    message = chat(ALICE, at(10), event_id="msg-1")
    chats_per_guild = {
        GUILD: [message, message, message],  # the bus delivered it three times
        OTHER_GUILD: [message, chat(ALICE, at(20), event_id="msg-2")],  # two in one interval
    }
    for guild_id, chats in chats_per_guild.items():
        service.tick(guild_id, T0)
        for sent in chats:
            service.record_chat(guild_id, sent)
        assert service.tracking_status(guild_id).present_viewers == 1

        assert service.tick(guild_id, at(60)).credited_viewers == 1
        assert totals(service, guild_id) == {ALICE.platform_user_id: 60}

    service.tick(THIRD_GUILD, at(300))
    service.record_chat(THIRD_GUILD, chat(ALICE, at(200)))
    service.record_chat(THIRD_GUILD, chat(ALICE, at(10)))  # an older delivery, arriving late
    # At 480 s the 200 s message is 280 s old (present); the 10 s one would be 470 s old.
    assert service.tick(THIRD_GUILD, at(480)).credited_viewers == 1
    assert service.tick(THIRD_GUILD, at(540)).credited_viewers == 0  # now 340 s old
    assert totals(service, THIRD_GUILD) == {ALICE.platform_user_id: 180}


# --- several processes, restarts ---------------------------------------------------------------


def test_two_services_ticking_the_same_guild_at_the_same_now_credit_once(
    engine, clock, monkeypatch
):
    first = WatchtimeService(engine, WatchtimeSettings(), clock)
    second = WatchtimeService(engine, WatchtimeSettings(), clock)
    first.tick(GUILD, T0)
    second.tick(GUILD, T0)
    first.record_chat(GUILD, chat(ALICE, at(10)))

    results = [first.tick(GUILD, at(60)), second.tick(GUILD, at(60))]

    assert [r.seconds_each for r in results] == [60, 0]
    assert totals(first) == {ALICE.platform_user_id: 60}

    # The compare-and-set itself: the second process read the clock (T0) before the first one
    # advanced it, then ticks at the same now, or a second later.
    for guild_id, second_now in ((OTHER_GUILD, at(60)), (THIRD_GUILD, at(61))):
        first.tick(guild_id, T0)
        first.record_chat(guild_id, chat(ALICE, at(10)))
        with engine.connect() as conn:
            read_by_second = repository.get_tick_state(conn, guild_id)

        assert first.tick(guild_id, at(60)).seconds_each == 60
        with monkeypatch.context() as patched:
            patched.setattr(repository, "get_tick_state", lambda _c, _g, s=read_by_second: s)
            lost = second.tick(guild_id, second_now)

        assert (lost.credited_viewers, lost.seconds_each) == (0, 0)
        assert totals(first, guild_id) == {ALICE.platform_user_id: 60}
        assert first.tracking_status(guild_id).last_tick_at == at(60)


def test_two_processes_racing_for_the_first_tick_start_the_clock_once(engine, clock, monkeypatch):
    winner = WatchtimeService(engine, WatchtimeSettings(), clock)
    loser = WatchtimeService(engine, WatchtimeSettings(), clock)
    with engine.connect() as conn:
        read_by_loser = repository.get_tick_state(conn, GUILD)  # no tick yet
    assert read_by_loser.last_tick_at is None

    winner.tick(GUILD, T0)
    with monkeypatch.context() as patched:
        patched.setattr(repository, "get_tick_state", lambda _conn, _guild_id: read_by_loser)
        lost = loser.tick(GUILD, at(30))

    assert lost.seconds_each == 0
    assert winner.tracking_status(GUILD).last_tick_at == T0


def test_concurrent_ticks_from_many_processes_credit_one_interval(engine, clock):
    services = [WatchtimeService(engine, WatchtimeSettings(), clock) for _ in range(6)]
    services[0].tick(GUILD, T0)
    services[0].record_chat(GUILD, chat(ALICE, at(10)))
    barrier = threading.Barrier(len(services))
    results: list[TickResult] = []

    def tick(service: WatchtimeService) -> None:
        barrier.wait()
        results.append(service.tick(GUILD, at(60)))

    threads = [threading.Thread(target=tick, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.seconds_each for r in results) == [0, 0, 0, 0, 0, 60]
    assert totals(services[0]) == {ALICE.platform_user_id: 60}


def test_restart_in_the_middle_of_a_stream_keeps_presence_and_the_clock(engine, clock):
    before = WatchtimeService(engine, WatchtimeSettings(), clock)
    before.record_stream_state(GUILD, started(at(-600)))
    before.tick(GUILD, T0)
    before.record_chat(GUILD, chat(ALICE, at(20)))
    before.record_chat(GUILD, chat(BOB, at(40)))
    assert before.tick(GUILD, at(60)).credited_viewers == 2
    engine.dispose()  # the process goes away with its connections

    after = WatchtimeService(engine, WatchtimeSettings(), Clock(at(120)))
    result = after.tick(GUILD)

    assert (result.credited_viewers, result.seconds_each) == (2, 60)
    assert totals(after) == {ALICE.platform_user_id: 120, BOB.platform_user_id: 120}


# --- tracking on/off -------------------------------------------------------------------------


def test_tracking_off_credits_nothing_and_turning_it_on_does_not_credit_the_gap(service, clock):
    service.tick(GUILD)
    service.record_chat(GUILD, chat(ALICE, clock.advance(10)))
    clock.advance(20)
    service.set_tracking(GUILD, enabled=True)  # already on: the clock keeps running
    assert service.tick(GUILD, clock.advance(30)).seconds_each == 60

    clock.advance(5)
    assert service.set_tracking(GUILD, enabled=False).enabled is False
    for _ in range(10):  # ten minutes off, chatting and ticking as usual
        service.record_chat(GUILD, chat(ALICE, clock.advance(25)))
        assert service.tick(GUILD, clock.advance(35)).credited_viewers == 0
    assert totals(service) == {ALICE.platform_user_id: 60}

    clock.advance(20)  # 20 s after the last tick while off
    assert service.set_tracking(GUILD, enabled=True).enabled is True
    service.record_chat(GUILD, chat(ALICE, clock.advance(10)))

    assert service.tick(GUILD, clock.advance(30)).seconds_each == 40  # only the time since on
    assert service.tick(GUILD, clock.advance(60)).seconds_each == 60
    assert totals(service) == {ALICE.platform_user_id: 160}


def test_tracking_status_reports_enabled_and_present_viewers(service, clock):
    service.tick(GUILD)
    service.record_chat(GUILD, chat(ALICE, at(-400)))  # outside the window
    service.record_chat(GUILD, chat(BOB, at(-100)))
    service.record_chat(GUILD, chat(CAROL, clock.now))

    status = service.tracking_status(GUILD)
    assert (status.enabled, status.present_viewers, status.last_tick_at) == (True, 2, T0)
    assert (status.interval_seconds, status.active_window_minutes) == (60, 5)

    off = service.set_tracking(GUILD, enabled=False)
    assert (off.enabled, off.present_viewers) == (False, 0)

    service.record_stream_state(GUILD, ended(clock.advance(1)))
    on = service.set_tracking(GUILD, enabled=True)
    assert (on.enabled, on.present_viewers) == (True, 0)  # offline: nobody is watching

    never_seen = service.tracking_status(OTHER_GUILD)
    assert (never_seen.enabled, never_seen.present_viewers, never_seen.last_tick_at) == (
        True,
        0,
        None,
    )


# --- one statement for everyone --------------------------------------------------------------


def test_a_tick_writes_every_present_viewer_in_one_statement(engine, service):
    small, large = GUILD, OTHER_GUILD
    for guild_id, crowd in ((small, 5), (large, 500)):
        service.tick(guild_id, T0)
        seed_present_viewers(engine, guild_id, crowd, at(30))

    with recorded_statements(engine) as small_tick:
        small_result = service.tick(small, at(60))
    with recorded_statements(engine) as large_tick:
        large_result = service.tick(large, at(60))

    # Statements do not grow with the crowd (one of them adds the tick to its hour, for the charts).
    assert len(large_tick) == len(small_tick) <= 7
    assert sum("watchtime" in s.lower() and "insert" in s.lower() for s in large_tick) == 1
    assert (small_result.credited_viewers, large_result.credited_viewers) == (5, 500)
    assert service.count_viewers(large) == 500
    assert {row.seconds for row in service.export(large)} == {60}


def test_a_tick_credits_returning_viewers_and_newcomers_and_leaves_absent_ones_alone(service):
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(10)))
    service.record_chat(GUILD, chat(BOB, at(10)))
    service.tick(GUILD, at(60))  # Alice and Bob have totals now
    service.record_chat(GUILD, chat(ALICE, at(400)))  # Bob's presence has run out
    service.record_chat(GUILD, chat(CAROL, at(410)))  # Carol is new

    result = service.tick(GUILD, at(420))

    assert (result.credited_viewers, result.seconds_each) == (2, 300)
    rows = {row.platform_user_id: (row.seconds, row.last_seen) for row in service.export(GUILD)}
    assert rows == {
        ALICE.platform_user_id: (360, at(420)),
        CAROL.platform_user_id: (300, at(420)),
        BOB.platform_user_id: (60, at(60)),
    }


def test_a_viewer_chatting_in_two_of_the_guilds_channels_is_credited_once(service):
    # Possible for a while after a guild moves to another channel: presence is per channel.
    service.tick(GUILD, T0)
    for broadcaster in (BROADCASTER, OTHER_BROADCASTER):
        service.record_chat(GUILD, chat(ALICE, at(10), broadcaster=broadcaster))

    first = service.tick(GUILD, at(60))  # Alice is new: inserted once
    second = service.tick(GUILD, at(120))  # Alice has a total: updated once

    assert (first.credited_viewers, second.credited_viewers) == (1, 1)
    assert totals(service) == {ALICE.platform_user_id: 120}
    assert service.tracking_status(GUILD).present_viewers == 1


# --- guild isolation ---------------------------------------------------------------------------


def test_guilds_never_see_each_others_viewers(service):
    # GUILD follows the channel from the start, OTHER_GUILD follows the same channel but only
    # from 60 s on, THIRD_GUILD follows another channel. The dispatcher hands every guild the
    # events of the channel it follows.
    everyone = (GUILD, OTHER_GUILD, THIRD_GUILD)
    for guild_id in everyone:
        service.tick(guild_id, T0)
    service.record_chat(GUILD, chat(ALICE, at(10)))
    service.record_chat(THIRD_GUILD, chat(CAROL, at(10), broadcaster=OTHER_BROADCASTER))
    for guild_id in everyone:
        service.tick(guild_id, at(60))
    for guild_id in (GUILD, OTHER_GUILD):
        service.record_chat(guild_id, chat(BOB, at(70)))
    service.record_stream_state(THIRD_GUILD, ended(at(80), broadcaster=OTHER_BROADCASTER))
    for guild_id in everyone:
        service.tick(guild_id, at(120))

    assert {guild_id: totals(service, guild_id) for guild_id in everyone} == {
        GUILD: {ALICE.platform_user_id: 120, BOB.platform_user_id: 60},
        OTHER_GUILD: {BOB.platform_user_id: 60},
        THIRD_GUILD: {CAROL.platform_user_id: 60},  # its channel going offline is its own
    }
    assert {
        guild_id: [(r.rank, r.entry.username) for r in service.leaderboard(guild_id)]
        for guild_id in everyone
    } == {
        GUILD: [(1, "Alice"), (2, "bob")],
        OTHER_GUILD: [(1, "bob")],
        THIRD_GUILD: [(1, "carol")],
    }
    lookups = {
        (guild_id, name): service.find_by_username(guild_id, name)
        for guild_id in everyone
        for name in ("alice", "bob", "carol")
    }
    assert {
        key: None if ranked is None else (ranked.rank, ranked.entry.seconds)
        for key, ranked in lookups.items()
    } == {
        (GUILD, "alice"): (1, 120),
        (GUILD, "bob"): (2, 60),
        (GUILD, "carol"): None,
        (OTHER_GUILD, "alice"): None,
        (OTHER_GUILD, "bob"): (1, 60),  # Alice, ahead in GUILD, is not counted here
        (OTHER_GUILD, "carol"): None,
        (THIRD_GUILD, "alice"): None,
        (THIRD_GUILD, "bob"): None,
        (THIRD_GUILD, "carol"): (1, 60),
    }
    assert [service.count_viewers(guild_id) for guild_id in everyone] == [2, 1, 1]


# --- leaderboard, lookup, export -------------------------------------------------------------


def test_leaderboard_orders_by_seconds_with_stable_ties_and_ranks_pages(engine, service):
    seed_watchtime(
        engine,
        GUILD,
        {
            Viewer("11", "eleven"): 120,
            Viewer("22", "twenty-two"): 600,
            Viewer("33", "thirty-three"): 120,
            Viewer("44", "forty-four"): 60,
            Viewer("5", "five"): 120,
        },
    )

    board = service.leaderboard(GUILD, limit=10)
    # Ties share the rank (as in !watchtime), listed in a stable order.
    assert [(r.label, r.entry.platform_user_id, r.entry.seconds) for r in board] == [
        ("#1", "22", 600),
        ("=2", "11", 120),
        ("=2", "33", 120),
        ("=2", "5", 120),
        ("#5", "44", 60),
    ]
    assert service.find_by_user_id(GUILD, "33").label == "=2"
    pages = [service.leaderboard(GUILD, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [[(r.label, r.entry.platform_user_id) for r in page] for page in pages] == [
        [("#1", "22"), ("=2", "11")],
        [("=2", "33"), ("=2", "5")],
        [("#5", "44")],
    ]
    assert service.leaderboard(GUILD, limit=10, offset=5) == []
    assert service.leaderboard(GUILD, limit=10) == board  # ties come back in the same order

    tied = service.find_by_username(GUILD, "thirty-three")
    assert tied is not None
    assert tied.rank == 2  # ties share the better rank


USERNAME_QUERIES = {  # what a Discord user typed -> whether it finds Alice
    "Alice": True,
    "alice": True,
    "ALICE": True,
    "@alice": True,
    "  @Alice  ": True,
    "alic": False,
    "nobody": False,
    "@": False,
}


def test_find_by_username_is_case_insensitive_and_takes_a_leading_at(service):
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(10)))
    service.tick(GUILD, at(60))

    found = {query: service.find_by_username(GUILD, query) for query in USERNAME_QUERIES}

    assert {query: ranked is not None for query, ranked in found.items()} == USERNAME_QUERIES
    assert found["@alice"] == RankedWatchtime(
        1, WatchtimeRow(Platform.KICK, "1001", "Alice", 60, at(60))
    )

    # Alice renames herself: the new name finds the same account, with its seconds.
    service.record_chat(GUILD, chat(Viewer("1001", "Alicia"), at(70)))
    service.tick(GUILD, at(120))

    renamed = service.find_by_username(GUILD, "@ALICIA")
    assert renamed is not None
    assert renamed.entry == WatchtimeRow(Platform.KICK, "1001", "Alicia", 120, at(120))
    assert service.find_by_username(GUILD, "alice") is None

    # A late replay of her old message, carrying the old name, does not bring it back.
    service.record_chat(GUILD, chat(ALICE, at(10)))

    assert service.find_by_username(GUILD, "alice") is None
    replayed = service.find_by_username(GUILD, "alicia")
    assert replayed is not None
    assert (replayed.entry.platform_user_id, replayed.entry.seconds) == ("1001", 120)
    assert [r.entry.username for r in service.leaderboard(GUILD)] == ["Alicia"]


def test_export_lists_every_viewer_with_platform_id_name_seconds_and_last_seen(service):
    service.tick(GUILD, T0)
    service.record_chat(GUILD, chat(ALICE, at(10)))
    service.record_chat(GUILD, chat(Viewer("1009", ""), at(10)))  # no username known
    service.tick(GUILD, at(60))
    service.record_chat(GUILD, chat(BOB, at(100)))
    service.tick(GUILD, at(120))
    service.record_chat(OTHER_GUILD, chat(CAROL, at(100)))  # another guild's viewer

    assert service.export(GUILD) == [
        WatchtimeRow(Platform.KICK, "1001", "Alice", 120, at(120)),
        WatchtimeRow(Platform.KICK, "1009", "1009", 120, at(120)),
        WatchtimeRow(Platform.KICK, "1002", "bob", 60, at(120)),
    ]
    assert service.export(OTHER_GUILD) == []


def test_chat_bots_rows_are_neither_listed_nor_counted_nor_ranked_ahead(engine, clock):
    """Rows a bot earned before it was known as one (or that an import brought) stay in the
    table, but the board, its count and every rank leave them out: a well-known bot in any
    case, a login named in CHAT_BOTS and StreamKeeper's own account."""
    bots = ChatBots(extra_logins=["MyBot"])
    bots.add_own_account(Platform.KICK, "1012")
    service = WatchtimeService(engine, WatchtimeSettings(), clock, chat_bots=bots)
    nightbot, mybot, own = Viewer("1010", "Nightbot"), Viewer("1011", "mybot"), Viewer("1012", "x")
    seed_watchtime(engine, GUILD, {ALICE: 600, BOB: 300, nightbot: 9000, mybot: 800, own: 700})

    board = service.leaderboard(GUILD)

    assert [(r.label, r.entry.username) for r in board] == [("#1", "Alice"), ("#2", "bob")]
    assert service.count_viewers(GUILD) == 2
    assert service.find_by_user_id(GUILD, BOB.platform_user_id).rank == 2
    [bob] = service.ranked_of_accounts([("kick", BOB.platform_user_id)])
    assert bob.rank == 2
