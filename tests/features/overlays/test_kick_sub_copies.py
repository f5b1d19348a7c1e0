"""A Kick subscription told by its webhook (the subscriber's id and name) and by Pusher (the
name only), when both get through: one alert, one step of the subs goal."""

from __future__ import annotations

import json
from datetime import timedelta

from core.platforms.kick.pusher_events import parse_frame
from core.platforms.kick.webhook_events import parse_event
from tests.conftest import FIXTURES
from tests.features.overlays.conftest import GUILD_A


def test_the_webhook_and_the_pusher_copy_are_one_sub(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "100", "title": ""})
    clock.advance(1)
    body = json.loads((FIXTURES / "kick" / "channel.subscription.new.json").read_text())
    body["created_at"] = clock.now.isoformat()
    webhook = parse_event(
        "channel.subscription.new", body, message_id="msg-1", delivered_at=clock.now
    )
    frame = json.loads((FIXTURES / "kick" / "pusher-SubscriptionEvent.json").read_text())
    data = json.loads(frame["data"])
    data["username"] = body["subscriber"]["username"].upper()  # as the frame may spell it
    frame["data"] = json.dumps(data)
    pusher = parse_frame(
        json.dumps(frame),
        broadcaster_user_id=webhook.broadcaster_user_id,
        received_at=clock.now + timedelta(seconds=1),
    )
    assert pusher is not None
    assert pusher.viewer.platform_user_id is None  # Pusher names no id
    assert webhook.key != pusher.key

    for event in (webhook, pusher, webhook):
        overlays.event_alerts.handle(GUILD_A, event)
        overlays.goal.handle(GUILD_A, event)

    assert len(overlays.alerts_after(GUILD_A, 0)) == 1
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1
