"""The goal bar at and past its target, and never below zero: what the goal overlay is given
(both backends)."""

from __future__ import annotations

import sqlalchemy as sa

from core.events import Platform
from core.features.heist import payments
from core.features.heist import repository as heist_repository
from core.features.heist.payments import SOURCE as HEIST
from core.features.heist.payments import ledger_ref
from core.features.importers.se_points import SOURCE as IMPORTED
from core.features.overlays.tables import overlay_goals
from core.features.points import repository as points_repository
from core.features.points.repository import PointsEntry
from core.features.points.service import PointsService
from tests.features.overlays.conftest import GUILD_A
from tests.features.overlays.test_goal import _follow
from tests.features.overlays.test_views import open_heist


def _set_progress(engine, progress: int) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.update(overlay_goals)
            .where(overlay_goals.c.guild_id == GUILD_A)
            .values(progress=progress)
        )


def test_a_goal_below_its_target_is_not_reached(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "3", "title": ""})
    clock.advance(1)
    for n in (1, 2):
        overlays.goal.handle(GUILD_A, _follow(n, clock()))
    goal = overlays.goal.view(GUILD_A)["goal"]
    assert (goal["progress"], goal["reached"]) == (2, False)


def test_a_goal_at_or_past_its_target_is_reached(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "3", "title": ""})
    clock.advance(1)
    for n in (1, 2, 3):
        overlays.goal.handle(GUILD_A, _follow(n, clock()))
    assert overlays.goal.view(GUILD_A)["goal"]["reached"] is True
    for n in (4, 5):
        overlays.goal.handle(GUILD_A, _follow(n, clock()))
    goal = overlays.goal.view(GUILD_A)["goal"]
    assert (goal["progress"], goal["target"], goal["reached"]) == (5, 3, True)


def test_a_lowered_target_below_the_count_is_reached(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "10", "title": ""})
    clock.advance(1)
    for n in (1, 2):
        overlays.goal.handle(GUILD_A, _follow(n, clock()))
    overlays.goal.save(GUILD_A, {"measure": "follows", "target": "2", "title": ""})
    goal = overlays.goal.view(GUILD_A)["goal"]
    assert (goal["progress"], goal["reached"]) == (2, True)


def test_a_count_below_zero_shows_zero(overlays, engine):
    """A count taken back past zero (a stored negative) shows an empty bar, never a negative."""
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "10", "title": ""})
    _set_progress(engine, -4)
    goal = overlays.goal.view(GUILD_A)["goal"]
    assert (goal["progress"], goal["reached"]) == (0, False)


def test_points_coming_back_or_carried_over_do_not_move_a_points_goal(overlays, engine, clock):
    """A points goal counts points earned since it started: a called-off heist handing the
    crew's stakes back, or a StreamElements balance imported, earns nothing and moves nothing."""
    points = PointsService(engine, clock)
    points.give(GUILD_A, Platform.KICK, "1", 1_000, actor="test")  # before the goal
    clock.advance(1)
    overlays.goal.save(GUILD_A, {"measure": "points", "target": "1000", "title": "Points"})
    clock.advance(1)
    heist_id = open_heist(engine, GUILD_A, [("1", "alice", 400, "high", False)])
    now = clock()
    with engine.begin() as conn:
        stake_ref = ledger_ref(heist_id, Platform.KICK, "1", "stake")
        points_repository.spend(
            conn, PointsEntry(GUILD_A, Platform.KICK, "1", 400, HEIST, stake_ref, now)
        )
        heist = heist_repository.heist_by_id(conn, heist_id)
        assert heist is not None
        payments.refund_crew(conn, heist, now)  # called off: the stake comes back
        points_repository.credit(conn, PointsEntry(
            GUILD_A, Platform.TWITCH, "7", 250_000, IMPORTED, "se:chan:id:7", now,
            actor="import", reason="StreamElements balance",
        ))  # fmt: skip
    assert points.balance(GUILD_A, Platform.KICK, "1") == 1_000
    goal = overlays.goal.view(GUILD_A)["goal"]
    assert (goal["progress"], goal["reached"]) == (0, False)
    points.give(GUILD_A, Platform.KICK, "2", 300, actor="test")  # what counts still does
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 300
