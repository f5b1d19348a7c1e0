"""A viewer's raffle standing in every open period at once (their /me page) agrees with
``standing`` asked guild by guild: tickets, rank among participants, excluded viewers left out
of the count, closed periods and other viewers' balances not shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import Platform
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.support.clock import Clock

SECOND = GUILD + 1


@pytest.fixture
def raffle(engine):
    return make_service(engine, Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)))


def test_standings_in_every_open_period_match_each_guilds_standing(raffle, engine):
    for user_id, name, member in (("a1", "alpha", 21), ("b1", "bravo", 22), ("c1", "carol", 23)):
        add_viewer(engine, user_id, name, member)
    raffle.periods.start(GUILD)
    raffle.periods.start(SECOND)
    give = raffle.admin.give
    for guild_id, member, tickets in ((GUILD, 21, 5), (GUILD, 22, 9), (GUILD, 23, 50),
                                      (SECOND, 21, 7), (SECOND, 22, 3)):  # fmt: skip
        give(guild_id, actor_id=1, member_id=member, tickets=tickets, reason="t",
             reference=f"{guild_id}-{member}")  # fmt: skip
    # carol, ahead of alpha here, is excluded: alpha is second, not third.
    raffle.admin.exclude(GUILD, actor_id=1, member_id=23, username=None)

    found = raffle.views.open_standings_of([("kick", "a1")])

    assert sorted((s.guild_id, s.platform, s.platform_user_id, s.tickets, s.rank)
                  for s in found) == [
        (GUILD, Platform.KICK, "a1", 5, 2), (SECOND, Platform.KICK, "a1", 7, 1),
    ]  # fmt: skip
    for standing in found:
        one = raffle.views.standing(standing.guild_id, Platform.KICK, "a1")
        assert (one.tickets, one.rank) == (standing.tickets, standing.rank)
    assert raffle.views.guilds_with_open_period([GUILD, SECOND, SECOND + 1]) == {GUILD, SECOND}
    assert raffle.views.open_standings_of([]) == []
