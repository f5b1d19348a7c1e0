"""Tickets changed by hand, as the dashboard's raffle page lists them: the shown period's admin
entries only (not watching, gifts or another guild's), newest first, with the viewer's name and
who changed them; the draws' winners by viewer name. On both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Platform
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.features.viewers.guild_support import chatted_in
from tests.support.clock import Clock


def test_hand_changes_newest_first_of_this_guild_and_period(engine):
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    raffle = make_service(engine, clock)
    assert raffle.views.hand_changes(GUILD) == []  # no period yet: nothing, no refusal
    add_viewer(engine, "u1", "ana", discord_id=101)
    add_viewer(engine, "u2", "bo", discord_id=102)
    raffle.periods.start(GUILD)
    raffle.periods.start(GUILD + 1)
    raffle.admin.give(GUILD, actor_id=7, member_id=101, tickets=5, reason="quiz", reference="a")
    clock.advance(minutes=1)
    raffle.admin.give(GUILD, actor_id=8, member_id=102, tickets=3, reason="", reference="b")
    clock.advance(minutes=1)
    raffle.admin.give(GUILD, actor_id=7, member_id=101, tickets=-2, reason="", reference="c")
    chatted_in(engine, GUILD + 1, Platform.KICK, "u2")  # bo chatted in the other guild too
    raffle.admin.give(GUILD + 1, actor_id=9, member_id=None, tickets=4, reason="x",
                      reference="d", username="bo")  # fmt: skip
    changes = raffle.views.hand_changes(GUILD)
    assert [(c.username, c.amount, c.actor_id, c.reason) for c in changes] == [
        ("ana", -2, 7, "removed"),
        ("bo", 3, 8, "given"),
        ("ana", 5, 7, "quiz"),
    ]
    assert changes[0].created_at > changes[-1].created_at
    assert len(raffle.views.hand_changes(GUILD, limit=2)) == 2


def test_winner_names_by_platform_and_id(engine):
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    raffle = make_service(engine, clock)
    add_viewer(engine, "u1", "ana", discord_id=101)
    raffle.periods.start(GUILD)
    raffle.admin.give(GUILD, actor_id=7, member_id=101, tickets=5, reason="", reference="a")
    clock.advance(hours=1)
    raffle.periods.end(GUILD)
    raffle.draws.request(GUILD, actor_id=7)
    draw = raffle.draws.force(GUILD, actor_id=7)
    assert raffle.views.winner_names([draw]) == {("kick", "u1"): "ana"}
    assert raffle.views.winner_names([]) == {}
