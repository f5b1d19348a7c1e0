"""Earning points by watching and chatting: exact amounts, subscribers' rate, idempotent ticks,
chat caps, and one ledger row per viewer per window (not per tick), on both backends."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.config import WatchtimeSettings
from core.events import ChatMessageSent, Platform, StreamEnded, StreamStarted, Viewer
from core.features.points.earning import PointsEarning
from core.features.points.ports import NobodySubscribes
from core.features.points.service import PointsRefused, PointsService
from core.features.points.tables import points_accrual, points_ledger
from core.features.watchtime.service import WatchtimeService
from tests.support.clock import Clock
from tests.support.events import chat_message

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)  # the start of a posting window
# A Discord-like id whose time part is a whole number of days: its posting windows start on
# the clock's (accrual.window_phase is 0 for any window size that divides a day).
GUILD = (3 * 86_400_000 * 1000) << 22
BROADCASTER = "123456789"
ALICE = Viewer("1001", "Alice")
BOB = Viewer("1002", "bob")


class Subs:
    """The Subscribers port as the sub tiers feature would answer it."""

    def __init__(self, *user_ids: str) -> None:
        self.user_ids = set(user_ids)

    def subscribed(
        self, conn, guild_id: int, platform: Platform, user_ids: Iterable[str]
    ) -> set[str]:
        return self.user_ids & set(user_ids)


def chat(viewer: Viewer, at: datetime, content: str = "hi", event_id: str = "") -> ChatMessageSent:
    return chat_message(
        content, broadcaster=BROADCASTER, viewer=viewer, at=at, event_id=event_id or None
    )


class World:
    def __init__(self, engine, subscribers=None) -> None:
        self.engine = engine
        self.clock = Clock(T0)
        self.watchtime = WatchtimeService(engine, WatchtimeSettings(), self.clock)
        self.points = PointsService(engine, self.clock)
        self.earning = self.make_earning(subscribers)

    def make_earning(self, subscribers=None) -> PointsEarning:
        return PointsEarning(
            self.engine,
            self.clock,
            subscribers or NobodySubscribes(),
            timedelta(minutes=5),
            lambda: [GUILD],
        )

    def tick(self) -> None:
        """What the scheduler does: the watchtime tick, then the jobs after it."""
        self.watchtime.tick(GUILD, self.clock())
        self.earning.earn_all()

    def minutes(self, count: int, *viewers: Viewer) -> None:
        """``count`` minutes of ticks, each viewer chatting every minute (so present)."""
        for _ in range(count):
            for viewer in viewers:
                self.watchtime.record_chat(GUILD, chat(viewer, self.clock()))
            self.clock.advance(60)
            self.tick()

    def balance(self, viewer: Viewer) -> int:
        return self.points.balance(GUILD, Platform.KICK, viewer.platform_user_id)

    def ledger_rows(self) -> list[sa.Row]:
        l = points_ledger.c  # noqa: E741
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(l.platform_user_id, l.amount, l.source, l.source_ref).order_by(l.id)
            ).all()


@pytest.fixture
def world(engine) -> World:
    return World(engine)


def test_watching_accrues_then_posts_one_row_per_viewer_when_the_window_closes(world):
    world.tick()  # the first tick only starts the clock
    world.minutes(29, ALICE)
    assert world.balance(ALICE) == 0
    assert world.points.pending(GUILD, Platform.KICK, "1001") == 29
    world.minutes(1, ALICE)  # 20:30: the first window closed
    assert world.balance(ALICE) == 30
    [row] = world.ledger_rows()
    assert (row.amount, row.source, row.source_ref) == (30, "earn", "2030-06-01T20:30Z:kick:1001")
    assert world.points.pending(GUILD, Platform.KICK, "1001") == 0


def test_subscribers_earn_their_rate(engine):
    world = World(engine, Subs("1001"))
    world.points.set_rate(GUILD, "sub", "3")
    world.points.set_rate(GUILD, "watch", "2")
    world.tick()
    world.minutes(30, ALICE, BOB)
    assert (world.balance(ALICE), world.balance(BOB)) == (90, 60)


def test_a_tick_earned_twice_or_after_a_restart_credits_once(world):
    world.tick()
    world.minutes(30, ALICE)
    world.earning.earn_all()
    world.make_earning().earn_all()  # a restarted process runs the same tick's job again
    assert world.balance(ALICE) == 30
    assert len(world.ledger_rows()) == 1


def test_a_viewer_who_stops_chatting_earns_only_while_present(world):
    world.tick()
    world.minutes(1, ALICE)
    world.minutes(29)  # present while the chat is within the active window (5 minutes)
    assert world.balance(ALICE) == 5
    watched = world.watchtime.find_by_user_id(GUILD, "1001")
    assert watched is not None
    assert watched.entry.seconds == 5 * 60  # the same crowd as watchtime


@pytest.mark.parametrize("one_by_one", [False, True])
def test_the_streamer_earns_nothing_for_watching_their_own_stream(world, one_by_one):
    """A streamer who chatted in their own chat earned the watch rate for every minute of the
    stream and topped the board (their chat lines, already, earn nothing)."""
    if one_by_one:  # the path a failed batch falls back on
        world.earning.earn_all = lambda: world.earning.earn(GUILD)  # type: ignore[method-assign]
    streamer = Viewer(BROADCASTER, "the_streamer")
    world.tick()
    world.minutes(30, streamer, ALICE)
    assert (world.balance(streamer), world.balance(ALICE)) == (0, 30)
    [top] = world.points.leaderboard(GUILD)
    assert top.row.username == "Alice"


def test_tracking_off_earns_nothing(world):
    world.tick()
    world.watchtime.set_tracking(GUILD, False)
    world.minutes(31, ALICE)
    assert world.balance(ALICE) == 0


def test_a_crowd_adds_one_ledger_row_per_viewer_per_window_not_per_tick(world):
    crowd = [Viewer(str(5000 + n), f"v{n}") for n in range(15)]
    world.tick()
    world.minutes(59, *crowd)  # a window of 30 one-minute ticks, then 29 more
    assert len(world.ledger_rows()) == len(crowd)
    with world.engine.connect() as conn:
        kept = conn.execute(sa.select(sa.func.count()).select_from(points_accrual)).scalar_one()
    assert kept == len(crowd)  # one accrual row per viewer, updated in place
    world.minutes(1, *crowd)
    rows = world.ledger_rows()
    assert len(rows) == 2 * len(crowd)
    assert {row.amount for row in rows} == {30}


def test_the_posting_window_is_a_rate(world):
    world.points.set_rate(GUILD, "window", "10")
    world.tick()
    world.minutes(30, ALICE)
    assert [row.amount for row in world.ledger_rows()] == [10, 10, 10]


def test_a_longer_posting_window_loses_no_earnings(world):
    """Lengthened from 30 to 60 minutes just after the 20:00 window was posted, the window
    20:00-21:00 starts where the posted one did; its posting is a ledger row of its own."""
    world.tick()
    world.minutes(30, ALICE)  # 20:30: the window 20:00-20:30 is posted
    world.points.set_rate(GUILD, "window", "60")
    world.minutes(30, ALICE)  # 21:00: the window 20:00-21:00 closes
    assert world.balance(ALICE) == 60
    assert [row.amount for row in world.ledger_rows()] == [30, 30]


# --- chat ------------------------------------------------------------------------------------


def close_window(world: World) -> None:
    world.clock.now = T0 + timedelta(minutes=30)
    world.tick()


def test_chat_earns_per_message_but_not_commands_repeats_or_redeliveries(world):
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    world.watchtime.set_tracking(GUILD, False)  # chat only in this test
    at = T0 + timedelta(seconds=1)
    first = chat(ALICE, at, "hello there")
    world.earning.record_chat(GUILD, first)
    world.earning.record_chat(GUILD, first)  # the bus delivered it twice
    world.earning.record_chat(GUILD, chat(ALICE, at + timedelta(seconds=5), "HELLO   there"))
    world.earning.record_chat(GUILD, chat(ALICE, at + timedelta(seconds=6), "!points"))
    world.earning.record_chat(GUILD, chat(ALICE, at + timedelta(seconds=7), "gg"))
    world.earning.record_chat(GUILD, chat(ALICE, at - timedelta(seconds=30), "late"))
    close_window(world)
    assert world.balance(ALICE) == 2  # "hello there" and "gg"


def test_a_command_typed_as_a_reply_or_with_another_bang_earns_nothing(world):
    """The router answers "@bot !join 100" sent with Twitch's Reply button, "\uff01points"
    (a full-width bang) and a command behind an invisible character as commands: they are no
    chat to pay for, as "!points" is not."""
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    world.watchtime.set_tracking(GUILD, False)  # chat only in this test
    at = T0 + timedelta(seconds=1)
    reply = chat(ALICE, at, "@StreamKeeper !join 100")
    reply = dataclasses.replace(reply, platform=Platform.TWITCH, reply_to_message_id="m-1")
    for n, line in enumerate(["\uff01points", "\u200b!points", "thanks @StreamKeeper"]):
        world.earning.record_chat(GUILD, chat(ALICE, at + timedelta(seconds=n + 1), line))
    world.earning.record_chat(GUILD, reply)
    close_window(world)
    assert world.balance(ALICE) == 1  # "thanks @StreamKeeper" only


def stream(started: bool, at: datetime) -> StreamStarted | StreamEnded:
    kind = StreamStarted if started else StreamEnded
    return kind(
        platform=Platform.KICK,
        event_id=uuid.uuid4().hex,
        broadcaster_user_id=BROADCASTER,
        occurred_at=at,
    )


def test_chat_earns_only_while_the_stream_is_live(world):
    """Chatting in an offline channel (between streams) earned points, though the bot tells
    viewers they earn by watching and chatting while the stream is live."""
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    world.watchtime.record_stream_state(GUILD, stream(False, T0 + timedelta(seconds=10)))
    world.earning.record_chat(GUILD, chat(ALICE, T0 + timedelta(seconds=20), "anyone here?"))
    world.earning.record_chat(GUILD, chat(BOB, T0 + timedelta(seconds=5), "gg, good stream"))
    world.watchtime.record_stream_state(GUILD, stream(True, T0 + timedelta(seconds=60)))
    world.earning.record_chat(GUILD, chat(ALICE, T0 + timedelta(seconds=70), "we are live"))
    close_window(world)
    assert (world.balance(ALICE), world.balance(BOB)) == (1, 1)  # the live lines only


def test_a_chat_delivered_again_after_its_viewer_went_quiet_counts_once(world):
    """An event delivered again an hour or more later (a dead event re-queued from the event
    log) finds its viewer's accrual row gone (dropped once quiet for an hour), so the row
    cannot tell it was counted: it counts nothing, and the viewer's next chat still counts."""
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    world.watchtime.set_tracking(GUILD, False)  # chat only in this test
    hello = chat(ALICE, T0 + timedelta(seconds=1), "hello there")
    world.earning.record_chat(GUILD, hello)
    for minutes in (30, 60, 90):  # at 21:30 ALICE's row, quiet for an hour, is dropped
        world.clock.now = T0 + timedelta(minutes=minutes)
        world.tick()
    assert world.balance(ALICE) == 1
    world.earning.record_chat(GUILD, hello)  # the same event again
    world.earning.record_chat(GUILD, chat(ALICE, T0 + timedelta(minutes=100), "back again"))
    world.clock.now = T0 + timedelta(minutes=120)
    world.tick()
    assert world.balance(ALICE) == 2  # "hello there" once, and "back again"


def test_a_chat_counted_in_an_earlier_window_is_not_paid_twice_when_delivered_again(world):
    """Counted before its window's posting (no tick since its window began), a message went out
    in the earlier window's row; delivered again once that row was dropped, it would be posted
    in its own window, a second time."""
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    world.watchtime.set_tracking(GUILD, False)
    world.earning.record_chat(GUILD, chat(ALICE, T0 + timedelta(minutes=10), "one"))
    two = chat(ALICE, T0 + timedelta(minutes=35), "two")
    world.earning.record_chat(GUILD, two)  # 20:35, and the 20:00 window not posted yet
    for minutes in (36, 60, 90, 120, 150):
        world.clock.now = T0 + timedelta(minutes=minutes)
        world.tick()
    assert world.balance(ALICE) == 2
    world.earning.record_chat(GUILD, two)  # the same event again
    world.clock.now = T0 + timedelta(minutes=180)
    world.tick()
    assert world.balance(ALICE) == 2


def test_a_chat_counted_just_after_its_window_was_posted_is_not_lost(world):
    """Typed at 20:29:59 and counted after the 20:30 posting, which dropped the viewer's row
    (they earned by watching, and had not chatted for points): the message's new row is posted
    at the next window, not again at the window just posted in."""
    world.tick()
    world.minutes(30, ALICE)  # 20:30: the window 20:00-20:30 is posted, ALICE's row dropped
    world.earning.record_chat(GUILD, chat(ALICE, T0 + timedelta(minutes=29, seconds=59), "gg"))
    world.minutes(30, ALICE)  # 21:00
    assert world.balance(ALICE) == 61


def test_chat_is_capped_per_viewer_per_hour(world):
    world.watchtime.set_tracking(GUILD, False)
    world.points.set_rate(GUILD, "chat", "5")
    world.points.set_rate(GUILD, "chatcap", "3")
    for n in range(10):
        world.earning.record_chat(GUILD, chat(ALICE, T0 + timedelta(seconds=n), f"message {n}"))
        world.earning.record_chat(GUILD, chat(BOB, T0 + timedelta(seconds=n), f"message {n}"))
    next_hour = T0 + timedelta(hours=1, seconds=1)
    world.earning.record_chat(GUILD, chat(ALICE, next_hour, "a new hour"))
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    world.clock.now = T0 + timedelta(hours=1, minutes=30)
    world.tick()
    assert (world.balance(ALICE), world.balance(BOB)) == (20, 15)


def test_the_streamer_earns_nothing_from_their_own_chat(world):
    world.watchtime.set_tracking(GUILD, False)
    world.earning.record_chat(GUILD, chat(Viewer(BROADCASTER, "streamer"), T0, "welcome"))
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    close_window(world)
    assert world.points.balance(GUILD, Platform.KICK, BROADCASTER) == 0


def test_chat_from_another_channel_of_a_twitch_shared_chat_earns_nothing_here(world):
    world.watchtime.set_tracking(GUILD, False)
    for viewer, source in ((ALICE, "5550001"), (BOB, BROADCASTER)):
        world.earning.record_chat(
            GUILD,
            chat_message(
                "hello there",
                platform=Platform.TWITCH,
                broadcaster=BROADCASTER,
                viewer=viewer,
                at=T0,
                source_broadcaster_user_id=source,  # the channel it was typed in
            ),
        )
    world.watchtime.tick(GUILD, T0)
    world.earning.earn_all()
    close_window(world)
    balance = world.points.balance
    assert (balance(GUILD, Platform.TWITCH, "1001"), balance(GUILD, Platform.TWITCH, "1002")) == (
        0,
        1,
    )


# --- rates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("speed", "2", "There is no rate 'speed'"),
        ("watch", "two", "whole number from 0 to 1000"),
        ("watch", "-1", "whole number from 0 to 1000"),
        ("watch", "1001", "whole number from 0 to 1000"),
        ("window", "0", "whole number from 1 to 1440"),
        ("chatcap", "", "whole number from 0 to 1000"),
    ],
)
def test_wrong_rates_are_refused_plainly(sqlite_engine, name, value, message):
    service = PointsService(sqlite_engine, Clock(T0))
    with pytest.raises(PointsRefused, match=message):
        service.set_rate(GUILD, name, value)
    assert service.rates(GUILD).watch_rate == 1


def test_rates_are_kept_per_guild_and_keep_the_name(sqlite_engine):
    service = PointsService(sqlite_engine, Clock(T0))
    service.set_name(GUILD, "Pixels")
    rates = service.set_rate(GUILD, "Watch", "5")
    assert (rates.watch_rate, rates.sub_rate) == (5, 2)
    assert service.name(GUILD) == "Pixels"
    assert service.rates(GUILD + 1).watch_rate == 1


def test_two_processes_earning_the_same_tick_credit_it_once(world, monkeypatch):
    """The second process read the earnings clock before the first moved it (the interleaving
    of a race, made deterministic): its compare-and-set fails and it credits nothing."""
    from core.features.points import accrual_batch

    world.tick()
    world.minutes(9, ALICE)
    world.watchtime.record_chat(GUILD, chat(ALICE, world.clock()))
    world.clock.advance(60)
    world.watchtime.tick(GUILD, world.clock())  # 20:10
    with world.engine.connect() as conn:
        stale = accrual_batch.clocks_of(conn, [GUILD])
    world.earning.earn_all()  # the first process
    monkeypatch.setattr(accrual_batch, "clocks_of", lambda conn, guild_ids: stale)
    [second] = world.make_earning().earn_all()  # the second, with what it read before
    monkeypatch.undo()
    assert (second.present, second.seconds) == (0, 0)
    world.minutes(20, ALICE)  # 20:30: the window is posted
    assert world.balance(ALICE) == 30
