"""Finding a viewer by the name an admin typed, for the bot's and the dashboard's grants: every
account of that name with its balance here, or one plain refusal that both front ends show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.events import Platform, Viewer
from core.features.points.board import BalanceRow
from core.features.points.service import PointsRefused, PointsService
from core.features.viewers.repository import remember_viewers
from core.features.watchtime.repository import Presence, mark_present_many
from tests.support.clock import Clock

GUILD, OTHER_GUILD = 1001, 1002
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def points(engine) -> PointsService:
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("k1", "alice"), Viewer("k2", "twin")], NOW)
        remember_viewers(conn, Platform.TWITCH, [Viewer("t2", "twin")], NOW)
        chatted = [
            Presence(GUILD, p, "chan", i, NOW)
            for p, i in ((Platform.KICK, "k2"), (Platform.TWITCH, "t2"))
        ]
        mark_present_many(conn, chatted, timedelta(minutes=5))  # nothing earned yet
    service = PointsService(engine, Clock(NOW))
    service.give(GUILD, Platform.KICK, "k1", 40, actor_id=1)
    service.give(OTHER_GUILD, Platform.KICK, "k1", 999, actor_id=1)  # another guild's
    return service


def test_every_account_of_the_name_with_its_balance_here(points):
    assert points.holders_named(GUILD, " @Alice ") == [BalanceRow(Platform.KICK, "k1", "Alice", 40)]
    assert points.holders_named(GUILD, "twin") == [
        BalanceRow(Platform.KICK, "k2", "twin", 0),
        BalanceRow(Platform.TWITCH, "t2", "twin", 0),
    ]
    assert points.holders_named(GUILD, "twitch:twin") == [
        BalanceRow(Platform.TWITCH, "t2", "twin", 0)
    ]
    assert points.holders_named(GUILD, "ghost") == []


def test_the_one_account_meant_or_a_plain_refusal(points):
    assert points.holder_named(GUILD, "kick:twin") == BalanceRow(Platform.KICK, "k2", "twin", 0)
    for name, refusal in (
        ("ghost", "No viewer called 'ghost' has chatted here."),
        ("twin", "That is more than one account; say which: kick:twin or twitch:twin."),
        ("", "Name a viewer: their Kick or Twitch name, or @member."),
        ("x" * 65, "Name a viewer: their Kick or Twitch name, or @member."),
    ):
        with pytest.raises(PointsRefused) as refused:
            points.holder_named(GUILD, name)
        assert str(refused.value) == refusal
    with pytest.raises(PointsRefused, match="No viewer called 'ghost'"):
        points.known_holders_named(GUILD, "ghost")
