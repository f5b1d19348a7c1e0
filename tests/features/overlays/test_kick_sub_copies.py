"""A Kick subscription told by its webhook (the subscriber's id and name) and by Pusher (the
name only), when both get through: one alert, one step of the subs goal; also when the two
copies are stamped on either side of a month's turn."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Subscribed
from core.platforms.kick.pusher_events import parse_frame
from core.platforms.kick.webhook_events import parse_event
from tests.conftest import FIXTURES
from tests.features.overlays.conftest import GUILD_A


def _copies(at: datetime, heard: datetime, spelt=str) -> tuple[Subscribed, Subscribed]:  # type: ignore[no-untyped-def]
    """The webhook's copy, created at ``at``, and the Pusher frame's, heard at ``heard``."""
    body = json.loads((FIXTURES / "kick" / "channel.subscription.new.json").read_text())
    body["created_at"] = at.isoformat()
    webhook = parse_event("channel.subscription.new", body, message_id="msg-1", delivered_at=at)
    frame = json.loads((FIXTURES / "kick" / "pusher-SubscriptionEvent.json").read_text())
    data = json.loads(frame["data"])
    data["username"] = spelt(body["subscriber"]["username"])
    frame["data"] = json.dumps(data)
    pusher = parse_frame(
        json.dumps(frame), broadcaster_user_id=webhook.broadcaster_user_id, received_at=heard
    )
    assert pusher is not None
    return webhook, pusher


def test_the_webhook_and_the_pusher_copy_are_one_sub(overlays, clock):
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "100", "title": ""})
    clock.advance(1)
    # The frame may spell the name in another case.
    webhook, pusher = _copies(clock.now, clock.now + timedelta(seconds=1), str.upper)
    assert pusher.viewer.platform_user_id is None  # Pusher names no id
    assert webhook.key != pusher.key

    for event in (webhook, pusher, webhook):
        overlays.event_alerts.handle(GUILD_A, event)
        overlays.goal.handle(GUILD_A, event)

    assert len(overlays.alerts_after(GUILD_A, 0)) == 1
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1


TURN = datetime(2026, 4, 1, tzinfo=UTC)  # midnight UTC on the 1st


@pytest.mark.parametrize("webhook_first", [True, False], ids=["webhook-first", "pusher-first"])
@pytest.mark.parametrize(
    ("created", "heard"),
    [(-0.5, 0.5), (-2.0, -1.0), (0.2, 1.2), (-40.0, 5.0)],
    ids=["across-the-turn", "both-before", "both-after", "a-late-frame"],
)
def test_the_two_copies_at_a_months_turn_are_one_sub(
    overlays, clock, webhook_first, created, heard
):
    """The old reference was the month of each copy's own time: the webhook's copy stamped at
    23:59:59.5 on the 31st and the frame heard at 00:00:00.5 on the 1st gave two alerts and
    moved the subs goal twice."""
    clock.now = TURN - timedelta(minutes=5)
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "100", "title": ""})
    webhook, pusher = _copies(TURN + timedelta(seconds=created), TURN + timedelta(seconds=heard))
    told = (webhook, pusher) if webhook_first else (pusher, webhook)

    clock.now = TURN + timedelta(seconds=10)  # both handled just after
    for event in told:
        overlays.event_alerts.handle(GUILD_A, event)
        overlays.goal.handle(GUILD_A, event)

    assert len(overlays.alerts_after(GUILD_A, 0)) == 1
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 1


def test_a_new_sub_a_month_after_one_at_the_last_turn_is_another(overlays, clock):
    """Near a month's turn the other month's reference is taken only when it was recorded
    moments before: a viewer who subscribed at the start of March and, the sub lapsed,
    subscribes anew at the start of April gets a second alert and a second step."""
    march = datetime(2026, 3, 1, 0, 0, 5, tzinfo=UTC)
    clock.now = march - timedelta(minutes=5)
    overlays.goal.save(GUILD_A, {"measure": "subs", "target": "100", "title": ""})
    for at in (march, TURN + timedelta(seconds=10)):
        clock.now = at
        webhook, _ = _copies(at, at)
        overlays.event_alerts.handle(GUILD_A, webhook)
        overlays.goal.handle(GUILD_A, webhook)

    assert len(overlays.alerts_after(GUILD_A, 0)) == 2
    assert overlays.goal.view(GUILD_A)["goal"]["progress"] == 2
