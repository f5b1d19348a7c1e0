"""The goal bar on a real database (both backends): moved by the events it counts, once each,
from when it (re)started; a points goal counts the points credited since; reset to zero."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.events import Followed, Platform, Subscribed, SubscriptionsGifted, Viewer
from core.features.overlays import goal_repository
from core.features.overlays.alert_events import follow_reference
from core.features.overlays.goal import MOVES_KEPT
from core.features.overlays.tables import overlay_goal_moves
from core.features.points.service import PointsService
from tests.features.overlays.conftest import GUILD_A, GUILD_B, NOW

TWITCH = {"platform": Platform.TWITCH, "broadcaster_user_id": "1"}


def _follow(n: int, at=NOW):  # type: ignore[no-untyped-def]
    return Followed(**TWITCH, event_id=f"f{n}", occurred_at=at, viewer=Viewer(str(n), f"v{n}"))


def _gift(count: int, key: str):  # type: ignore[no-untyped-def]
    return SubscriptionsGifted(**TWITCH, event_id=f"g{key}", occurred_at=NOW,
                               gifter=Viewer("9", "santa"), count=count, gift_key=key)  # fmt: skip


def test_no_goal_nothing_moves(overlays):
    overlays.goal.handle(GUILD_A, _follow(1))
    assert overlays.goal.view(GUILD_A) == {"goal": None}


def test_follows_move_a_follow_goal_once_each(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "10", "title": ""})
    clock.advance(1)
    for n in (1, 2, 2, 3):  # the second follow twice: a redelivery
        overlays.goal.handle(GUILD_A, _follow(n, clock()))
    overlays.goal.handle(GUILD_A, _gift(5, "9:5"))  # not a follow
    goal = overlays.goal.view(GUILD_A)["goal"]
    assert (goal["progress"], goal["target"], goal["title"]) == (3, 10, "Follows goal")
    assert overlays.goal.view(GUILD_B) == {"goal": None}


def test_a_follows_goal_counts_each_follower_once(overlays, clock):
    """A viewer who unfollows and follows again, or a follow forwarded by another Kick app under
    its own message id (Kick signs every app's deliveries alike), is a new event with a new
    key; the bar counts followers, so it moves once for them. The same viewer id in another
    channel, or on the other platform, is another follower."""
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "10", "title": ""})
    clock.advance(1)
    ann = Viewer("5", "ann")
    follows = [
        Followed(**TWITCH, event_id="first", occurred_at=clock(), viewer=ann),
        Followed(**TWITCH, event_id="again", occurred_at=clock(), viewer=ann),
        Followed(**{**TWITCH, "broadcaster_user_id": "2"}, event_id="x", occurred_at=clock(),
                 viewer=ann),
        Followed(platform=Platform.KICK, broadcaster_user_id="1", event_id="k1",
                 occurred_at=clock(), viewer=ann),
        Followed(platform=Platform.KICK, broadcaster_user_id="1", event_id="k2",
                 occurred_at=clock(), viewer=ann),
    ]  # fmt: skip
    for follow in follows:
        overlays.goal.handle(GUILD_A, follow)
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 3


def test_subs_count_subs_resubs_and_gifts_but_not_each_gift_recipient(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "100", "title": "Road to 100"})
    at = clock() + timedelta(seconds=1)
    viewer = Viewer("5", "ann")
    overlays.goal.handle(
        GUILD_A, Subscribed(**TWITCH, event_id="s1", occurred_at=at, viewer=viewer)
    )
    overlays.goal.handle(GUILD_A, Subscribed(**TWITCH, event_id="s2", occurred_at=at, viewer=viewer,
                                             is_renewal=True, months=3))  # fmt: skip
    overlays.goal.handle(GUILD_A, Subscribed(**TWITCH, event_id="s3", occurred_at=at, viewer=viewer,
                                             is_gift=True))  # fmt: skip
    gift = _gift(5, "9:5")
    gift = type(gift)(**{**gift.__dict__, "occurred_at": at})
    overlays.goal.handle(GUILD_A, gift)
    overlays.goal.handle(GUILD_A, gift)  # the same gift from the socket: once
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 7


def test_one_event_handled_by_two_processes_at_once_moves_the_bar_once_and_fails_neither(
    overlays, engine, clock, monkeypatch
):
    """Two web processes (or a retry racing the first delivery) count the same follow at the
    same moment, both seeing it uncounted: the bar moves once and neither raises (on the old
    code the second hit the unique reference)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE lets one of the two look only after the other")
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "10", "title": ""})
    clock.advance(1)
    both_looked = threading.Barrier(2, timeout=10)
    moved_at = goal_repository.moved_at
    looks = iter([True, True])

    def look_then_meet(conn, guild_id, source_ref):  # type: ignore[no-untyped-def]
        found = moved_at(conn, guild_id, source_ref)
        if next(looks, False):
            both_looked.wait()  # both have seen "not counted yet"
        return found

    monkeypatch.setattr(goal_repository, "moved_at", look_then_meet)
    follow = _follow(1, clock())
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(overlays.goal.handle, GUILD_A, follow) for _ in range(2)]
        errors = [future.exception(timeout=30) for future in done]
    assert errors == [None, None]
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1


def test_reset_counts_from_zero_and_ignores_what_happened_before(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "10", "title": "x"})
    clock.advance(1)
    overlays.goal.handle(GUILD_A, _follow(1, clock()))
    clock.advance(60)
    assert overlays.goal.reset(GUILD_A)
    overlays.goal.handle(GUILD_A, _follow(2, clock() - timedelta(seconds=30)))  # from before
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 0
    overlays.goal.handle(GUILD_A, _follow(3, clock()))
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1
    assert not overlays.goal.reset(GUILD_B)


def test_a_points_goal_counts_points_credited_since_it_started(overlays, engine, clock):
    points = PointsService(engine, clock)
    points.give(GUILD_A, Platform.KICK, "1", 500, actor="test")  # before the goal
    clock.advance(1)
    overlays.goal.save(GUILD_A, {"measure": "points", "target": "1000", "title": "Points"})
    clock.advance(1)
    points.give(GUILD_A, Platform.KICK, "1", 300, actor="test")
    points.give(GUILD_A, Platform.KICK, "2", 200, actor="test")
    points.give(GUILD_B, Platform.KICK, "1", 999, actor="test")
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 500


def _moves(engine) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return set(
            conn.execute(sa.select(overlay_goal_moves.c.guild_id, overlay_goal_moves.c.source_ref))
        )


def test_what_moved_a_goal_is_forgotten_after_a_month_and_the_bar_keeps_its_count(
    overlays, engine, clock
):
    for guild in (GUILD_A, GUILD_B):
        overlays.goal.save(guild, {"measure": "follows", "target": "10", "title": ""})
    clock.advance(1)
    overlays.goal.handle(GUILD_A, _follow(1, clock()))
    clock.advance(timedelta(days=20))
    overlays.goal.handle(GUILD_B, _follow(2, clock()))
    clock.advance(MOVES_KEPT - timedelta(days=20) - timedelta(minutes=1))
    assert overlays.goal.forget_old_moves() == 0  # the oldest is a minute short of a month
    overlays.goal.handle(GUILD_A, _follow(1, clock()))  # redelivered: still moves nothing
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1

    clock.advance(timedelta(minutes=2))
    assert overlays.goal.forget_old_moves() == 1
    assert _moves(engine) == {(GUILD_B, follow_reference(_follow(2)))}
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1  # the count stays
    assert overlays.goal.view(GUILD_B)["goal"]["progress"] == 1
    overlays.goal.handle(GUILD_A, _follow(3, clock()))
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 2


def test_a_kick_gift_repeated_a_month_on_moves_the_goal_again_and_its_copies_do_not(
    overlays, clock
):
    """Kick gifts only viewers without a sub, so the same gifter gifting the same viewer again
    comes about a month on (28 days from a February gift): another gift, which the alerts and
    the raffle count again. Copies of one gift (the webhook's, Pusher's by name) move once."""
    overlays.goal.save(GUILD_A, {"measure": "gifted_subs", "target": "10", "title": ""})

    def kick_gift(event_id: str, days: float, *, by_id: bool = True) -> SubscriptionsGifted:
        return SubscriptionsGifted(
            platform=Platform.KICK, event_id=event_id, broadcaster_user_id="555",
            occurred_at=NOW + timedelta(days=days, seconds=1),
            gifter=Viewer("9" if by_id else None, "Generous"),
            giftees=(Viewer("31" if by_id else None, "ann"),), count=1,
        )  # fmt: skip

    for event_id, days, by_id in [("kick-1", 0, True), ("pusher-1", 0.001, False),
                                  ("kick-2", 28, True), ("pusher-2", 28.001, False)]:  # fmt: skip
        clock.now = NOW + timedelta(days=days, seconds=2)
        overlays.goal.handle(GUILD_A, kick_gift(event_id, days, by_id=by_id))
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 2
