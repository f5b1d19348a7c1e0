"""A Twitch gift whose total the gifter hides, or an anonymous one, is told by
``channel.subscription.gift`` without a key (nothing names the gift: its bus key is its own
message id) and by the ``community_sub_gift`` chat notice, which names it (the community gift's
id); each by webhook and again over the socket. The alerts overlay shows it once and the goal
bar moves by it once, from the notice, as the raffle counts it."""

from __future__ import annotations

import pytest

from core.events import SubscriptionsGifted
from tests.features.overlays.conftest import GUILD_A
from tests.features.raffle.test_twitch_gifts import chat_notice, events_of, subscription_gift


def told_every_way(clock, *, anonymous: bool) -> list[SubscriptionsGifted]:
    gift = subscription_gift(3, None)  # the cumulative total hidden
    community = {"id": "8172615512", "total": 3, "sub_tier": "1000", "cumulative_total": None}
    notice = chat_notice("community_sub_gift", community, "chat-community-1")
    if anonymous:
        gift["event"].update(is_anonymous=True, user_id=None, user_login=None, user_name=None)
        notice["event"]["chatter_is_anonymous"] = True
    events = events_of([gift, notice], clock.now)
    return [event for event in events if isinstance(event, SubscriptionsGifted)]


@pytest.mark.parametrize(("anonymous", "shown"), [(False, "Cool_User"), (True, "Anonymous")])
def test_one_gift_one_alert_and_one_move_of_the_bar(overlays, clock, anonymous, shown):
    overlays.goal.save(GUILD_A, {"measure": "gifted_subs", "target": "100", "title": ""})
    clock.advance(1)
    gifts = told_every_way(clock, anonymous=anonymous)
    assert len({event.key for event in gifts}) == 3  # the bus keeps them apart

    for event in [*gifts, *reversed(gifts)]:
        overlays.alerts.gifts(GUILD_A, event)
        overlays.goal.handle(GUILD_A, event)

    [alert] = overlays.alerts_after(GUILD_A, 0)
    assert shown in alert.title
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 3
