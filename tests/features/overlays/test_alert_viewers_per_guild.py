"""An alert naming a viewer without their id (a Kick Pusher gift) keeps the account of this
server's viewer of that name: another server's old holder of the name does not leave the alert
without one (it then escaped the person's export and forgetting)."""

from __future__ import annotations

import sqlalchemy as sa

from core.events import Platform, SubscriptionsGifted, Viewer
from core.features.overlays.tables import overlay_alerts
from tests.features.overlays.conftest import GUILD_A, GUILD_B, NOW
from tests.features.viewers.guild_support import LONG_AGO, viewer_of


def test_a_gift_by_name_keeps_this_servers_gifter(engine, overlays):
    viewer_of(engine, GUILD_B, Platform.KICK, "k-old", "ana_kick", at=LONG_AGO)  # renamed since
    viewer_of(engine, GUILD_A, Platform.KICK, "k-ana", "Ana_Kick")
    overlays.alerts.gifts(GUILD_A, SubscriptionsGifted(
        platform=Platform.KICK, broadcaster_user_id="555", event_id="pusher-1", occurred_at=NOW,
        gifter=Viewer(None, "ana_kick"), giftees=(Viewer(None, "dan"),), count=1))  # fmt: skip
    a = overlay_alerts.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.guild_id, a.platform, a.platform_user_id)).all()
    assert [tuple(row) for row in rows] == [(GUILD_A, "kick", "k-ana")]
