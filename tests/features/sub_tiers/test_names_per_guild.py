"""!tier <name> and a Kick gift that names its recipients without their ids find the viewer of
that name seen in this server: one known only in another server is nobody here, and another
server's old holder of the name does not make this server's viewer ambiguous."""

from __future__ import annotations

from datetime import timedelta

from core.events import Platform, SubscriptionsGifted, Viewer
from tests.features.sub_tiers.conftest import GUILD, T0
from tests.features.viewers.guild_support import LONG_AGO, viewer_of

ELSEWHERE = GUILD + 1


def _gift(guild_id: int, tiers, giftee: Viewer, event_id: str) -> None:
    tiers.handle_gifted(guild_id, SubscriptionsGifted(
        platform=Platform.KICK, broadcaster_user_id="555", event_id=event_id,
        occurred_at=T0 - timedelta(days=1), gifter=Viewer("g1", "gifter"), giftees=(giftee,),
        count=1,
    ))  # fmt: skip


def test_a_name_known_only_in_another_server_is_nobody_here(engine, tiers):
    viewer_of(engine, ELSEWHERE, Platform.KICK, "k1", "bob")
    _gift(ELSEWHERE, tiers, Viewer("k1", "bob"), "gift-elsewhere")
    assert tiers.find_by_name(GUILD, "kick", "bob") == []
    assert tiers.for_name(GUILD, "bob") == []
    assert [user_id for user_id, _ in tiers.find_by_name(ELSEWHERE, "kick", "bob")] == ["k1"]


def test_a_gift_by_name_reaches_this_servers_bob(engine, tiers):
    viewer_of(engine, ELSEWHERE, Platform.KICK, "k1", "bob", at=LONG_AGO)  # renamed since, unseen
    viewer_of(engine, GUILD, Platform.KICK, "k2", "Bob")
    _gift(GUILD, tiers, Viewer(None, "bob"), "pusher-gift")  # Pusher names giftees only
    [(user_id, sub)] = tiers.find_by_name(GUILD, "kick", "bob")
    assert user_id == "k2"
    assert sub is not None
    assert sub.tier == "1"
