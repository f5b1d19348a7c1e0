"""The points leaderboard: ranks shared by ties, on any page, in a fixed number of statements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import Platform
from core.features.points.service import PointsService
from tests.support.clock import Clock
from tests.support.statements import statements_of

GUILD, OTHER_GUILD = 1001, 1002
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
# Ties inside pages and across their edges (pages of 3: 50 50 40 | 40 40 30 | 30 10 10 | 5).
BALANCES = [50, 50, 40, 40, 40, 30, 30, 10, 10, 5]


@pytest.fixture
def points(engine) -> PointsService:
    service = PointsService(engine, Clock(NOW))
    for n, amount in enumerate(BALANCES):
        service.give(GUILD, Platform.KICK, f"u{n}", amount, actor_id=1)
    service.give(OTHER_GUILD, Platform.KICK, "rich", 1_000, actor_id=1)  # never counted here
    service.give(GUILD, Platform.KICK, "spent", 7, actor_id=1)
    service.remove(GUILD, Platform.KICK, "spent", 7, actor_id=1)  # 0: not on the board
    return service


@pytest.mark.parametrize("size", [1, 2, 3, 4, 10])
def test_every_page_ranks_each_balance_as_one_plus_those_above_it(points, size):
    shown = []
    for offset in range(0, len(BALANCES) + size, size):
        shown += points.leaderboard(GUILD, size, offset)
    assert [entry.row.points for entry in shown] == BALANCES
    assert [entry.rank for entry in shown] == [1, 1, 3, 3, 3, 6, 6, 8, 8, 10]
    assert all(entry.rank == points.rank(GUILD, entry.row.points) for entry in shown)


def test_a_page_costs_two_statements_however_long(points, engine):
    """The heist page's top 25 asked for one count per row (issue 27's pages bench)."""
    for size in (3, 10):
        with statements_of(engine) as statements:
            assert len(points.leaderboard(GUILD, size, 0)) == size
        assert len(statements) <= 2, statements
    assert points.leaderboard(GUILD, 5, 100) == []
