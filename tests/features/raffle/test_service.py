"""Raffle periods, tickets from watchtime, gifts and admins, and the views."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Viewer
from core.features import shard_posts
from core.features.directory import repository as directory
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.periods.calendar import next_period
from core.features.raffle.ports import PeriodAnnouncement
from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.support import (
    CHANNEL,
    GUILD,
    START,
    RecordingAnnouncer,
    add_viewer,
    gift,
    ledger_count,
    make_service,
    set_watchtime,
    tickets_of,
)
from tests.support.clock import Clock

HOUR = 3600


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def raffle(engine, clock):
    return make_service(engine, clock)


# --- periods -----------------------------------------------------------------------------------


def test_start_opens_a_period_until_the_end_of_the_month(raffle, clock):
    period = raffle.periods.start(GUILD)
    assert period.status == "open"
    assert period.starts_at == clock.now
    assert period.ends_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert len(period.commitment) == 64


def test_months_follow_the_guild_time_zone(raffle, clock):
    raffle.periods.configure(GUILD, "time_zone", "Europe/Berlin")
    period = raffle.periods.start(GUILD, start_day=1, end_day=31)
    assert period.starts_at == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    # Berlin is on summer time (UTC+2) from March 29th.
    assert period.ends_at == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_a_later_start_day_schedules_the_period(raffle, clock):
    period = raffle.periods.start(GUILD, start_day=20, end_day=25)
    assert period.status == "scheduled"
    clock.now = datetime(2026, 3, 20, 0, 0, 30, tzinfo=UTC)
    raffle.run_scheduled()
    assert raffle.views.info(GUILD).current.status == "open"


@pytest.mark.parametrize(
    ("start_day", "end_day", "message"),
    [(0, None, "from 1 to 31"), (12, 40, "from 1 to 31"), (20, 15, "before"), (1, 9, "over")],
)
def test_start_refuses_impossible_days(raffle, start_day, end_day, message):
    with pytest.raises(RaffleRefused, match=message):
        raffle.periods.start(GUILD, start_day=start_day, end_day=end_day)


def test_only_one_period_is_open_at_a_time(raffle):
    raffle.periods.start(GUILD)
    with pytest.raises(RaffleRefused, match="already open"):
        raffle.periods.start(GUILD)
    raffle.periods.start(GUILD + 1)  # other guilds are independent


def test_end_refuses_without_a_period(raffle):
    with pytest.raises(RaffleRefused, match="No raffle period"):
        raffle.periods.end(GUILD)


def test_set_dates(raffle, clock):
    period = raffle.periods.set_dates(GUILD, "2026-03-05", "2026-03-20")
    assert period.status == "open"
    assert period.ends_at == datetime(2026, 3, 21, tzinfo=UTC)
    with pytest.raises(RaffleRefused, match="YYYY-MM-DD"):
        raffle.periods.set_dates(GUILD, "March 5", "2026-03-20")
    with pytest.raises(RaffleRefused, match="before"):
        raffle.periods.set_dates(GUILD, "2026-03-20", "2026-03-05")
    with pytest.raises(RaffleRefused, match="already be over"):
        raffle.periods.set_dates(GUILD, "2026-02-01", "2026-02-20")
    with pytest.raises(RaffleRefused, match="cannot start later"):
        raffle.periods.set_dates(GUILD, "2026-03-15", "2026-03-20")


def test_the_period_closes_at_its_end_and_the_next_one_opens(engine, clock):
    announcer = RecordingAnnouncer()
    raffle = make_service(engine, clock, announcer=announcer)
    first = raffle.periods.start(GUILD)
    asyncio.run(raffle.announce_pending())
    assert [a.period_id for a in announcer.opened] == [first.id]

    clock.now = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    raffle.run_scheduled()
    assert raffle.views.info(GUILD).current.id == first.id

    clock.now = datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC)
    raffle.run_scheduled()
    info = raffle.views.info(GUILD)
    assert info.last_closed.id == first.id
    assert info.last_closed.snapshot_hash is not None
    assert info.current.starts_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert info.current.ends_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert info.current.commitment != first.commitment
    asyncio.run(raffle.announce_pending())
    assert [a.period_id for a in announcer.closed] == [first.id]
    assert [a.period_id for a in announcer.opened] == [first.id, info.current.id]


def test_a_bot_down_over_the_boundary_catches_up_at_start(engine, clock):
    announcer = RecordingAnnouncer(failing=True)  # Discord is not connected yet either
    raffle = make_service(engine, clock, announcer=announcer)
    first = raffle.periods.start(GUILD)
    # The bot was off from March 30th to May 3rd.
    clock.now = datetime(2026, 5, 3, 8, 0, tzinfo=UTC)
    raffle.run_scheduled()
    info = raffle.views.info(GUILD)
    assert info.last_closed.id == first.id
    assert info.last_closed.ends_at == datetime(2026, 4, 1, tzinfo=UTC)
    # The missed April is skipped: the new period is the current month.
    assert info.current.starts_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert info.current.ends_at == datetime(2026, 6, 1, tzinfo=UTC)
    asyncio.run(raffle.announce_pending())
    assert announcer.closed == []
    announcer.failing = False
    asyncio.run(raffle.announce_pending())
    assert [a.period_id for a in announcer.closed] == [first.id]
    asyncio.run(raffle.announce_pending())
    assert len(announcer.closed) == 1  # posted once


def test_raffleend_stops_the_schedule(raffle, clock):
    raffle.periods.start(GUILD)
    closing = raffle.periods.end(GUILD)
    assert closing.period.status == "closed"
    assert closing.period.ends_at == clock.now
    clock.now = datetime(2026, 4, 2, tzinfo=UTC)
    raffle.run_scheduled()
    assert raffle.views.info(GUILD).current is None


def test_restart_closes_and_opens_a_fresh_period(raffle, clock):
    first = raffle.periods.start(GUILD)
    closing, period = raffle.periods.restart(GUILD)
    assert closing.period.id == first.id
    assert period.status == "open"
    assert period.id != first.id


# --- watchtime ---------------------------------------------------------------------------------


def test_watchtime_before_the_period_never_counts(engine, raffle, clock):
    set_watchtime(engine, "7", 5 * HOUR + 1800)  # watched before the raffle started
    raffle.periods.start(GUILD)
    raffle.run_scheduled()
    assert ledger_count(engine) == 0
    set_watchtime(engine, "7", 6 * HOUR + 1799)  # 59:59 more: not yet an hour
    raffle.run_scheduled()
    assert ledger_count(engine) == 0
    set_watchtime(engine, "7", 6 * HOUR + 1800)
    raffle.run_scheduled()
    raffle.run_scheduled()
    add_viewer(engine, "7", "seven", discord_id=70)
    view = tickets_of(raffle, 70)
    assert view.by_source == {"watchtime": 10}


def test_the_remainder_carries_to_the_next_hour(engine, raffle, clock):
    add_viewer(engine, "8", "eight", discord_id=80)
    raffle.periods.start(GUILD)
    for seconds in (2400, 4800, 7200, 9000):  # 40 minutes at a time
        set_watchtime(engine, "8", seconds)
        raffle.run_scheduled()
    assert tickets_of(raffle, 80).tickets == 20  # 2.5 h: two full hours


def test_watchtime_across_a_period_boundary(engine, clock):
    raffle = make_service(engine, clock)
    add_viewer(engine, "9", "nine", discord_id=90)
    raffle.periods.start(GUILD)
    set_watchtime(engine, "9", 2 * HOUR + 1800)  # 2.5 h in March
    clock.now = datetime(2026, 4, 1, 0, 0, 30, tzinfo=UTC)
    raffle.run_scheduled()
    march = raffle.views.info(GUILD).last_closed
    set_watchtime(engine, "9", 3 * HOUR + 1800)  # one more hour in April
    raffle.run_scheduled()
    april = tickets_of(raffle, 90)
    assert april.period.id != march.id
    assert april.tickets == 10  # March's half hour does not carry over
    with engine.connect() as conn:
        from core.features.raffle import ledger_repository

        assert ledger_repository.get_balance(conn, GUILD, march.id, *_kick("9")) == 20


def _kick(user_id):
    from core.events import Platform

    return Platform.KICK, user_id


# --- gifts -------------------------------------------------------------------------------------


def test_gifts_earn_per_giftee_and_a_second_source_adds_nothing(engine, raffle, clock):
    add_viewer(engine, "g1", "Gifter", discord_id=11)
    raffle.periods.start(GUILD)
    webhook = gift("kick-msg-1", Viewer("g1", "Gifter"), ("ann", "Bob", "cy"), clock.now)
    pusher = gift(
        "pusher-abc", Viewer(None, "gifter"), ("bob", "CY", "ann"), clock.now, with_ids=False
    )
    raffle.record_gift(GUILD, webhook)
    raffle.record_gift(GUILD, pusher)
    raffle.record_gift(GUILD, webhook)  # redelivered
    assert tickets_of(raffle, 11).by_source == {"gift": 45}


def test_a_gift_redelivered_with_giftee_ids_but_no_names_is_counted_once(engine, raffle, clock):
    """Each webhook delivery has its own message id; giftees known only by id still make one
    gift, whatever the number of deliveries."""
    from core.events import Platform, SubscriptionsGifted

    add_viewer(engine, "g5", "Nameless", discord_id=15)
    raffle.periods.start(GUILD)
    for delivery in range(8):
        raffle.record_gift(
            GUILD,
            SubscriptionsGifted(
                platform=Platform.KICK,
                event_id=f"kick-msg-{delivery}",
                broadcaster_user_id="555",
                occurred_at=clock.now,
                gifter=Viewer("g5", "Nameless"),
                giftees=(Viewer("301", ""), Viewer("302", "")),
                count=2,
            ),
        )
    assert tickets_of(raffle, 15).by_source == {"gift": 30}
    assert ledger_count(engine) == 1


def test_a_pusher_gift_finds_its_gifter_by_name(engine, raffle, clock):
    add_viewer(engine, "g2", "Generous", discord_id=12)
    raffle.periods.start(GUILD)
    raffle.record_gift(
        GUILD, gift("p1", Viewer(None, "generous"), ("x",), clock.now, with_ids=False)
    )
    assert tickets_of(raffle, 12).tickets == 15


def test_anonymous_and_unknown_gifters_earn_nothing(engine, raffle, clock):
    raffle.periods.start(GUILD)
    raffle.record_gift(GUILD, gift("a1", None, ("x", "y"), clock.now))
    raffle.record_gift(GUILD, gift("a2", Viewer(None, "stranger"), ("z",), clock.now))
    assert ledger_count(engine) == 0


def test_held_gifts_are_pending_until_the_hold_ends(engine, raffle, clock):
    add_viewer(engine, "g3", "Holder", discord_id=13)
    raffle.periods.configure(GUILD, "hold_minutes", "30")
    raffle.periods.start(GUILD)
    raffle.record_gift(GUILD, gift("h1", Viewer("g3", "Holder"), ("x",), clock.now))
    raffle.run_scheduled()
    assert tickets_of(raffle, 13).tickets == 0
    clock.advance(minutes=30)
    raffle.run_scheduled()
    raffle.run_scheduled()
    assert tickets_of(raffle, 13).tickets == 15


def test_a_voided_gift_never_pays_and_a_granted_one_is_taken_back(engine, raffle, clock):
    add_viewer(engine, "g4", "Voided", discord_id=14)
    raffle.periods.configure(GUILD, "hold_minutes", "30")
    raffle.periods.start(GUILD)
    held = gift("v1", Viewer("g4", "Voided"), ("x",), clock.now)
    raffle.record_gift(GUILD, held)
    reference = raffle.views.stats(GUILD).recent_gifts[0].reference
    raffle.admin.void_gift(GUILD, reference.upper(), actor_id=1)
    clock.advance(hours=1)
    raffle.run_scheduled()
    assert tickets_of(raffle, 14).tickets == 0
    with pytest.raises(RaffleRefused, match="already void"):
        raffle.admin.void_gift(GUILD, reference, actor_id=1)

    raffle.periods.configure(GUILD, "hold_minutes", "0")
    raffle.record_gift(GUILD, gift("v2", Viewer("g4", "Voided"), ("y", "z"), clock.now))
    assert tickets_of(raffle, 14).tickets == 30
    second = raffle.views.stats(GUILD).recent_gifts[0].reference
    raffle.admin.void_gift(GUILD, second, actor_id=1)
    view = tickets_of(raffle, 14)
    assert view.tickets == 0
    assert view.by_source == {"gift": 0}
    with pytest.raises(RaffleRefused, match="No gift"):
        raffle.admin.void_gift(GUILD, "gnope", actor_id=1)


# --- admin tickets and views -------------------------------------------------------------------


def test_admins_give_and_remove_tickets_of_linked_members(engine, raffle):
    add_viewer(engine, "a", "alpha", discord_id=21)
    add_viewer(engine, "b", "beta")  # not linked
    raffle.periods.start(GUILD)
    kwargs = {"actor_id": 1, "reason": "event winner"}
    assert (
        raffle.admin.give(GUILD, member_id=21, tickets=50, reference="m1", **kwargs).balance == 50
    )
    assert (
        raffle.admin.give(GUILD, member_id=21, tickets=50, reference="m1", **kwargs).balance == 50
    )
    assert (
        raffle.admin.give(GUILD, member_id=21, tickets=-20, reference="m2", **kwargs).balance == 30
    )
    with pytest.raises(RaffleRefused, match="only 30"):
        raffle.admin.give(GUILD, member_id=21, tickets=-31, reference="m3", **kwargs)
    with pytest.raises(RaffleRefused, match="not linked"):
        raffle.admin.give(GUILD, member_id=22, tickets=5, reference="m4", **kwargs)
    with pytest.raises(RaffleRefused, match="from 1"):
        raffle.admin.give(GUILD, member_id=21, tickets=0, reference="m5", **kwargs)
    stats = raffle.views.stats(GUILD, member_id=21)
    assert [(e.amount, e.actor_id, e.reason) for e in stats.member_entries] == [
        (-20, 1, "event winner"),
        (50, 1, "event winner"),
    ]


def test_tickets_rank_and_chance(engine, raffle):
    for user_id, discord_id in (("a", 31), ("b", 32), ("c", 33)):
        add_viewer(engine, user_id, f"user-{user_id}", discord_id=discord_id)
    raffle.periods.start(GUILD)
    for discord_id, tickets in ((31, 10), (32, 30), (33, 60)):
        raffle.admin.give(
            GUILD,
            actor_id=1,
            member_id=discord_id,
            tickets=tickets,
            reason="",
            reference=f"r{discord_id}",
        )
    view = tickets_of(raffle, 32)
    assert (view.tickets, view.rank, view.total_tickets) == (30, 2, 100)
    assert view.chance == pytest.approx(0.3)
    board = raffle.views.board(GUILD, 2)
    assert [(e.username, e.tickets) for e in board.entries] == [("user-c", 60), ("user-b", 30)]

    assert raffle.admin.exclude(GUILD, actor_id=1, member_id=33, username=None).names == ["user-c"]
    with pytest.raises(RaffleRefused, match="already excluded"):
        raffle.admin.exclude(GUILD, actor_id=1, member_id=None, username="USER-C")
    view = tickets_of(raffle, 33)
    assert view.is_excluded
    assert view.rank is None
    assert tickets_of(raffle, 32).rank == 1
    assert raffle.admin.include(GUILD, member_id=None, username="@user-c").names == ["user-c"]
    with pytest.raises(RaffleRefused, match="not excluded"):
        raffle.admin.include(GUILD, member_id=33, username=None)
    with pytest.raises(RaffleRefused, match="don't know"):
        raffle.admin.exclude(GUILD, actor_id=1, member_id=None, username="nobody")


def test_views_refuse_before_any_raffle_and_for_unlinked_members(engine, raffle):
    with pytest.raises(RaffleRefused, match="no raffle yet"):
        raffle.views.board(GUILD)
    raffle.periods.start(GUILD)
    with pytest.raises(RaffleRefused, match="Link your Kick or Twitch account first"):
        tickets_of(raffle, 99)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("colour", "red", "Settings I know"),
        ("watch_hour", "-1", "whole number"),
        ("auto_draw", "maybe", "on or off"),
        ("channel", "general", "#channel"),
        ("time_zone", "Mars/Olympus", "time zone"),
    ],
)
def test_configure_refuses_bad_values(raffle, name, value, message):
    with pytest.raises(RaffleRefused, match=message):
        raffle.periods.configure(GUILD, name, value)


def test_configure_changes_rates(raffle):
    rates = raffle.periods.rates(GUILD)
    assert (rates.watch_hour_tickets, rates.gifted_sub_tickets, rates.wager_thousand_tickets) == (
        10,
        15,
        20,
    )
    assert rates.linked_only
    rates = raffle.periods.configure(GUILD, "gifted_sub", "25")
    assert rates.gifted_sub_tickets == 25
    assert raffle.periods.configure(GUILD, "channel", "<#123>").announcement_channel_id == 123
    assert raffle.periods.configure(GUILD, "auto_draw", "on").auto_draw is True


def _directory_holds(engine, guild_id: int, channel_id: int) -> None:
    with engine.begin() as conn:
        directory.replace_channels(
            conn, guild_id, [directory.Channel(channel_id, "raffle", "text", 0, True)]
        )


def test_the_process_wide_channel_is_its_own_servers_alone(raffle, engine):
    """RAFFLE_ANNOUNCEMENT_CHANNEL_ID (CHANNEL here) names one server's channel: another server
    neither shows it nor announces there, while a server the directory does not know yet
    keeps it (the post itself checks the channel's server)."""
    assert raffle.periods.rates(GUILD + 1).announcement_channel_id == CHANNEL  # not known yet
    _directory_holds(engine, GUILD, CHANNEL)
    assert raffle.periods.rates(GUILD).announcement_channel_id == CHANNEL
    assert raffle.periods.rates(GUILD + 1).announcement_channel_id is None
    assert raffle.views.info(GUILD + 1).rates.announcement_channel_id is None


def test_none_turns_announcements_off_even_with_a_process_wide_channel(engine, clock):
    announcer = RecordingAnnouncer()
    raffle = make_service(engine, clock, announcer=announcer)
    _directory_holds(engine, GUILD, CHANNEL)
    raffle.periods.configure(GUILD, "channel", "none")
    raffle.periods.start(GUILD)
    asyncio.run(raffle.announce_pending())
    assert announcer.opened == []  # said to nobody, and not said later either
    raffle.periods.configure(GUILD, "channel", "default")
    asyncio.run(raffle.announce_pending())
    assert announcer.opened == []
    for word in ("none", "off", "OFF"):
        raffle.periods.configure(GUILD, "channel", "<#123>")
        assert raffle.periods.configure(GUILD, "channel", word).announcement_channel_id is None
        assert raffle.periods.rates(GUILD).announcement_channel_id is None
        assert raffle.views.info(GUILD).rates.announcement_channel_id is None
    assert raffle.periods.configure(GUILD, "channel", "default").announcement_channel_id == CHANNEL


def test_a_beacon_round_is_fixed_when_the_period_opens(engine, clock):
    with FakeBeacon(clock=clock) as beacon:
        raffle = make_service(engine, clock, beacon.url)
        period = raffle.periods.start(GUILD)
    # The first 30-second round after April 1st 00:00 (genesis is January 1st).
    seconds = (datetime(2026, 4, 1, tzinfo=UTC) - START.replace(month=1)).total_seconds()
    assert period.beacon_round == int(seconds // 30) + 2


# --- QA: time zones, catch-up, tickets after the end -------------------------------------------


def test_months_follow_new_york_across_both_dst_changes_and_a_missed_month(engine, clock):
    """New York leaves summer time on November 1st 2026 and enters it on March 14th 2027."""
    raffle = make_service(engine, clock)
    raffle.periods.configure(GUILD, "time_zone", "America/New_York")
    clock.now = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
    october = raffle.periods.start(GUILD)
    assert october.ends_at == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # midnight EDT
    clock.now = datetime(2026, 11, 1, 4, 0, 1, tzinfo=UTC)
    raffle.run_scheduled()
    november = raffle.views.info(GUILD).current
    assert (november.starts_at, november.ends_at) == (
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 5, 0, tzinfo=UTC),  # midnight EST
    )
    # The bot is off from late November to mid-February: December and January are missed.
    clock.now = datetime(2027, 2, 15, 9, 0, tzinfo=UTC)
    raffle.run_scheduled()
    info = raffle.views.info(GUILD)
    assert info.last_closed.id == november.id
    assert (info.current.starts_at, info.current.ends_at) == (
        datetime(2027, 2, 1, 5, 0, tzinfo=UTC),
        datetime(2027, 3, 1, 5, 0, tzinfo=UTC),
    )
    clock.now = datetime(2027, 3, 1, 5, 0, tzinfo=UTC)
    raffle.run_scheduled()
    march = raffle.views.info(GUILD).current
    assert march.ends_at == datetime(2027, 4, 1, 4, 0, tzinfo=UTC)  # midnight EDT again


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("old_zone", "new_zone", "march_end", "april_end", "may_end"),
    [
        # Westwards: the old month's end is 4 hours before New York's, 20:00 on March 31st.
        ("UTC", "America/New_York", _at(2026, 4, 1), _at(2026, 5, 1, 4), _at(2026, 6, 1, 4)),
        ("Asia/Tokyo", "UTC", _at(2026, 3, 31, 15), _at(2026, 5, 1), _at(2026, 6, 1)),
        # Berlin went on summer time on March 29th, New York on March 8th.
        ("Europe/Berlin", "America/New_York", _at(2026, 3, 31, 22), _at(2026, 5, 1, 4),
         _at(2026, 6, 1, 4)),
        # The widest gap there is (UTC+14 to UTC-11): 25 hours of March left in Pago Pago.
        ("Pacific/Kiritimati", "Pacific/Pago_Pago", _at(2026, 3, 31, 10), _at(2026, 5, 1, 11),
         _at(2026, 6, 1, 11)),
        # Eastwards: the next period starts a few hours into April there and runs to its end.
        ("UTC", "Europe/Berlin", _at(2026, 4, 1), _at(2026, 4, 30, 22), _at(2026, 5, 31, 22)),
        ("America/New_York", "UTC", _at(2026, 4, 1, 4), _at(2026, 5, 1), _at(2026, 6, 1)),
    ],
)  # fmt: skip
def test_a_time_zone_change_during_a_period_makes_no_period_of_a_few_hours(
    engine, clock, old_zone, new_zone, march_end, april_end, may_end
):
    raffle = make_service(engine, clock)
    raffle.periods.configure(GUILD, "time_zone", old_zone)
    march = raffle.periods.start(GUILD)
    assert march.ends_at == march_end
    raffle.periods.configure(GUILD, "time_zone", new_zone)

    clock.now = march_end
    raffle.run_scheduled()
    april = raffle.views.info(GUILD).current
    assert (april.starts_at, april.ends_at) == (march_end, april_end)
    clock.now = march_end + timedelta(hours=26)  # March is over in the new zone too
    raffle.run_scheduled()
    assert raffle.views.info(GUILD).current.id == april.id

    clock.now = april_end
    raffle.run_scheduled()
    info = raffle.views.info(GUILD)
    assert info.last_closed.id == april.id
    assert (info.current.starts_at, info.current.ends_at) == (april_end, may_end)


def test_a_time_zone_change_westwards_across_new_yorks_return_to_standard_time(engine):
    """October in UTC ends at 20:00 on October 31st in New York, the night before it leaves
    summer time; the next period is November there, to midnight EST."""
    clock = Clock(_at(2026, 10, 10, 12))
    raffle = make_service(engine, clock)
    raffle.periods.start(GUILD)
    raffle.periods.configure(GUILD, "time_zone", "America/New_York")

    clock.now = _at(2026, 11, 1, 0, 0, 30)
    raffle.run_scheduled()
    november = raffle.views.info(GUILD).current
    assert (november.starts_at, november.ends_at) == (_at(2026, 11, 1), _at(2026, 12, 1, 5))
    clock.now = _at(2026, 12, 1, 5, 0, 30)
    raffle.run_scheduled()
    december = raffle.views.info(GUILD).current
    assert (december.starts_at, december.ends_at) == (_at(2026, 12, 1, 5), _at(2027, 1, 1, 5))


def test_a_bot_down_over_the_end_after_a_time_zone_change_leaves_no_gap(engine, clock):
    raffle = make_service(engine, clock)
    raffle.periods.start(GUILD)
    raffle.periods.configure(GUILD, "time_zone", "America/New_York")

    clock.now = _at(2026, 4, 3, 9)  # back two days after the end
    raffle.run_scheduled()
    april = raffle.views.info(GUILD).current
    assert (april.starts_at, april.ends_at) == (_at(2026, 4, 1), _at(2026, 5, 1, 4))


@pytest.mark.parametrize(
    ("previous_end", "time_zone", "expected_end"),
    [
        # After !rafflesetdate through the 30th, the 31st on its own, as before.
        (_at(2026, 3, 31), "UTC", _at(2026, 4, 1)),
        # October 31st 2027 is 25 hours long in Berlin (summer time ends): still the one day.
        (_at(2027, 10, 30, 22), "Europe/Berlin", _at(2027, 10, 31, 23)),
    ],
)
def test_a_period_after_one_set_by_date_still_runs_to_the_end_of_its_month(
    previous_end, time_zone, expected_end
):
    now = previous_end + timedelta(seconds=30)
    assert next_period(previous_end, now, time_zone) == (previous_end, expected_end)


def test_catching_up_over_two_months_loses_no_watchtime_tickets(engine, clock):
    raffle = make_service(engine, clock)
    add_viewer(engine, "9", "nine", discord_id=90)
    march = raffle.periods.start(GUILD)
    set_watchtime(engine, "9", 3 * HOUR)  # watched in March; the bot went down before its tick
    clock.now = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
    raffle.run_scheduled()
    with engine.connect() as conn:
        from core.features.raffle import ledger_repository

        assert ledger_repository.get_balance(conn, GUILD, march.id, *_kick("9")) == 30
    set_watchtime(engine, "9", 4 * HOUR)  # one hour in May
    raffle.run_scheduled()
    may = tickets_of(raffle, 90)
    assert may.period.starts_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert may.tickets == 10


def test_the_close_announcement_publishes_the_ledger_hash_and_the_round_it_waits_for(engine, clock):
    """The round used is the first after the freeze; only a post made at the close fixes it (and
    the frozen ledger) in public before that round is out."""
    announcer = RecordingAnnouncer()
    with FakeBeacon(clock=clock) as beacon:
        raffle = make_service(engine, clock, beacon.url, announcer)
        raffle.periods.start(GUILD)
        clock.now = datetime(2026, 4, 1, 0, 0, 50, tzinfo=UTC)  # the tick after midnight
        raffle.run_scheduled()
    asyncio.run(raffle.announce_pending())
    closed = raffle.views.info(GUILD).last_closed
    [announcement] = announcer.closed
    assert announcement.snapshot_hash == closed.snapshot_hash
    assert announcement.beacon_round == closed.beacon_round


def test_admins_cannot_give_tickets_to_a_period_that_is_over_but_not_yet_closed(engine, clock):
    raffle = make_service(engine, clock)
    add_viewer(engine, "1", "one", discord_id=10)
    raffle.periods.start(GUILD)
    clock.now = datetime(2026, 4, 1, 0, 0, 20, tzinfo=UTC)  # before the scheduler's next tick
    with pytest.raises(RaffleRefused, match="No raffle period is open"):
        raffle.admin.give(GUILD, actor_id=1, member_id=10, tickets=5, reason="", reference="late")
    assert ledger_count(engine) == 0


def test_announcements_are_posted_by_the_process_whose_discord_shard_has_the_guild(engine, clock):
    # With several bot processes each Discord client sees only its shard's guilds.
    announcer = RecordingAnnouncer()
    elsewhere = make_service(engine, clock, announcer=announcer)
    elsewhere.posts.on_this_shard = lambda guild_id: guild_id != GUILD
    first = elsewhere.periods.start(GUILD)

    asyncio.run(elsewhere.announce_pending())
    assert announcer.opened == []  # left unposted, and unmarked, for the guild's own process
    asyncio.run(make_service(engine, clock, announcer=announcer).announce_pending())
    assert [a.period_id for a in announcer.opened] == [first.id]


class StuckForOneGuild(RecordingAnnouncer):
    """Discord answering every channel but one guild's, which it never answers."""

    def __init__(self, stuck_guild: int) -> None:
        super().__init__()
        self.stuck_guild = stuck_guild
        self.stuck = True

    async def period_opened(self, channel_id: int, period: PeriodAnnouncement) -> None:
        if self.stuck and period.guild_id == self.stuck_guild:
            await asyncio.Event().wait()
        await super().period_opened(channel_id, period)


def test_a_guild_discord_does_not_answer_holds_back_only_its_own_announcements(
    engine, clock, monkeypatch
):
    monkeypatch.setattr(shard_posts, "POST_SECONDS", 0.05)
    announcer = StuckForOneGuild(GUILD)
    raffle = make_service(engine, clock, announcer=announcer)
    stuck = raffle.periods.start(GUILD)
    others = [raffle.periods.start(guild_id) for guild_id in (GUILD + 1, GUILD + 2)]

    asyncio.run(raffle.announce_pending())

    assert [a.period_id for a in announcer.opened] == [p.id for p in others]
    announcer.stuck = False  # Discord answers again: the held one is posted, once
    asyncio.run(raffle.announce_pending())
    asyncio.run(raffle.announce_pending())
    assert sorted(a.period_id for a in announcer.opened) == sorted(
        [stuck.id, *(p.id for p in others)]
    )
