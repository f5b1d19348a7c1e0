"""A moderator names a viewer of their own server: excluding by name and the dashboard's "Find a
viewer" never reach a viewer known only in another server, and another server's old holder of
the name does not make this server's viewer ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.raffle.errors import RaffleRefused
from core.features.viewers.search import name_query
from tests.features.raffle.support import GUILD, make_service
from tests.features.viewers.guild_support import LONG_AGO, named, viewer_of
from tests.support.clock import Clock

ELSEWHERE = GUILD + 1


@pytest.fixture
def raffle(engine):
    service = make_service(engine, Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)))
    service.periods.start(GUILD)
    return service


def test_excluding_a_name_known_only_in_another_server_finds_nobody(engine, raffle):
    viewer_of(engine, ELSEWHERE, Platform.KICK, "k1", "bob")
    with pytest.raises(RaffleRefused, match="don't know a Kick or Twitch viewer by that name"):
        raffle.admin.exclude(GUILD, actor_id=1, member_id=None, username="bob")
    assert raffle.views.viewers_named(GUILD, name_query("bob")) == []


def test_another_servers_old_bob_does_not_stand_beside_this_servers(engine, raffle):
    viewer_of(engine, ELSEWHERE, Platform.KICK, "k1", "bob", at=LONG_AGO)  # renamed since, unseen
    viewer_of(engine, GUILD, Platform.KICK, "k2", "Bob")
    named(engine, Platform.TWITCH, "t9", "bob")  # a Twitch bob who never came here
    assert raffle.admin.exclude(GUILD, actor_id=1, member_id=None, username="bob").names == ["bob"]
    found = raffle.views.viewers_named(GUILD, name_query("bob"))
    assert [(v.tickets.platform, v.tickets.username) for v in found] == [(Platform.KICK, "Bob")]


def test_a_gift_named_without_an_id_goes_to_this_servers_gifter(engine, raffle):
    """Kick's Pusher names a gifter without their id: another server's old holder of the name
    made it two accounts, and the gift earned nobody tickets."""
    from core.events import Viewer
    from core.features.raffle.tables import raffle_ledger
    from tests.features.raffle.support import gift

    viewer_of(engine, ELSEWHERE, Platform.KICK, "k1", "gifter", at=LONG_AGO)
    viewer_of(engine, GUILD, Platform.KICK, "k2", "Gifter")
    named_gift = gift("pusher-1", Viewer(None, "gifter"), ("ann", "cy"), raffle.periods.clock())

    raffle.record_gift(GUILD, named_gift)

    with engine.connect() as conn:
        earned = conn.execute(
            sa.select(raffle_ledger.c.platform_user_id, raffle_ledger.c.amount).where(
                raffle_ledger.c.guild_id == GUILD
            )
        ).all()
    assert [(user_id, amount > 0) for user_id, amount in earned] == [("k2", True)]
