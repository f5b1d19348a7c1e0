"""Issue 46: a repeat gift alerts again. Before, the alert's key was the channel, gifter and
giftees with no time, checked against all history, so the same gifter gifting the same viewer
again (new message ids, another day) never showed."""

from __future__ import annotations

from datetime import timedelta

from core.events import Platform, SubscriptionsGifted, Viewer
from tests.features.overlays.conftest import GUILD_A, NOW


def kick_gift(event_id: str, minutes: float, *, by_id: bool = True) -> SubscriptionsGifted:
    return SubscriptionsGifted(
        platform=Platform.KICK,
        event_id=event_id,
        broadcaster_user_id="555",
        occurred_at=NOW + timedelta(minutes=minutes),
        gifter=Viewer("9" if by_id else None, "Generous"),
        giftees=(Viewer("31" if by_id else None, "ann"),),
        count=1,
    )


def test_a_repeat_gift_alerts_again_and_its_copies_do_not(overlays):
    overlays.alerts.gifts(GUILD_A, kick_gift("kick-msg-1", 0))
    overlays.alerts.gifts(GUILD_A, kick_gift("pusher-1", 2, by_id=False))  # another source
    overlays.alerts.gifts(GUILD_A, kick_gift("kick-msg-1", 0))  # redelivered
    overlays.alerts.gifts(GUILD_A, kick_gift("kick-msg-2", 60 * 24 * 31))  # a month on
    overlays.alerts.gifts(GUILD_A, kick_gift("pusher-2", 60 * 24 * 31 + 3, by_id=False))
    titles = [a.title for a in overlays.alerts_after(GUILD_A, 0)]
    assert titles == ["Generous gifted 1 sub", "Generous gifted 1 sub"]
