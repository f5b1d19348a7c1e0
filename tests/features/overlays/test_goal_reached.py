"""The goal bar at and past its target, and never below zero: what the goal overlay is given
(both backends)."""

from __future__ import annotations

import sqlalchemy as sa

from core.features.overlays.tables import overlay_goals
from tests.features.overlays.conftest import GUILD_A
from tests.features.overlays.test_goal import _follow


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
