"""A viewer named by any event, not only by chat, is shown by name: a gifter who never chatted
stands on the raffle board as themselves, not as a platform id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Platform, SubscriptionsGifted, Viewer
from core.features.viewers.repository import find_viewer_ids_by_username, usernames_of
from core.platforms.kick.signing import signed_headers
from tests.conftest import FIXTURES
from tests.support.delivery import deliver_all

BROADCASTER = "123456789"  # the broadcaster in Kick's example payloads

# Kick's example payloads and the viewers each names, as "platform:id" -> username.
NAMED = {
    "channel.followed": {"kick:987654321": "follower_name"},
    "channel.subscription.new": {"kick:987654321": "subscriber_name"},
    "channel.subscription.renewal": {"kick:987654321": "subscriber_name"},
    "channel.subscription.gifts": {
        "kick:987654321": "gifter_name",
        "kick:561654654": "giftee_name",
    },
    "channel.reward.redemption.updated": {"kick:123": "naughty-user"},  # in channel 333
    "moderation.banned": {"kick:135790135": "banned_user_name", "kick:987654321": "moderator_name"},
    "kicks.gifted": {"kick:987654321": "gift_sender"},
}


@pytest.fixture
def runtime(kick_examples_runtime):
    return kick_examples_runtime


def deliver(runtime, kick_keys, event_type: str, body: bytes) -> None:
    headers = signed_headers(kick_keys[0], body, event_type=event_type)
    client = runtime.create_web_app().test_client()
    assert client.post("/webhooks/kick", data=body, headers=headers).status_code == 200
    deliver_all(runtime)


def names(runtime, keys) -> dict[str, str]:
    with runtime.engine.connect() as conn:
        return usernames_of(conn, [tuple(key.split(":")) for key in keys])


@pytest.mark.parametrize("event_type", sorted(NAMED))
def test_every_kick_event_that_names_a_viewer_keeps_their_name(runtime, kick_keys, event_type):
    body = (FIXTURES / "kick" / f"{event_type}.json").read_bytes()
    expected = NAMED[event_type]
    assert names(runtime, expected) == {}

    deliver(runtime, kick_keys, event_type, body)

    assert names(runtime, expected) == expected


def test_an_older_event_does_not_rename_a_viewer_seen_since(runtime, kick_keys):
    """A subscription told late (Kick's example is dated 2025) does not undo the name the
    viewer chatted under since."""
    chat = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    chat["sender"].update(user_id=987654321, username="renamed_since")
    chat["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    deliver(runtime, kick_keys, "chat.message.sent", json.dumps(chat).encode())
    renewal = (FIXTURES / "kick" / "channel.subscription.renewal.json").read_bytes()
    deliver(runtime, kick_keys, "channel.subscription.renewal", renewal)

    assert names(runtime, ["kick:987654321"]) == {"kick:987654321": "renamed_since"}


def test_a_name_sent_with_zero_width_characters_is_kept_without_them(runtime, kick_keys):
    """Kick's webhook names a chatter "bob\u200b": stored as "bob", found when "bob" is typed."""
    chat = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    chat["sender"].update(user_id=987654321, username="\ufeffbo\u200bb\u2060")
    chat["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    deliver(runtime, kick_keys, "chat.message.sent", json.dumps(chat).encode())

    assert names(runtime, ["kick:987654321"]) == {"kick:987654321": "bob"}
    with runtime.engine.connect() as conn:
        assert find_viewer_ids_by_username(conn, Platform.KICK, "bob") == ["987654321"]
        assert find_viewer_ids_by_username(conn, Platform.KICK, "bo\u200bb") == ["987654321"]


def test_a_gift_named_without_ids_remembers_nothing_and_fails_nothing(runtime):
    """Kick's chat socket names gifters and giftees without their ids: no name is kept for them
    (a name is kept for an id), and the gift is still handled."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    gift = SubscriptionsGifted(
        platform=Platform.KICK,
        event_id="pusher-gift-1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=now,
        gifter=Viewer(None, "gifter_name"),
        giftees=(Viewer(None, "giftee_name"),),
        count=1,
    )
    runtime.bus.publish(gift)
    deliver_all(runtime)

    with runtime.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM viewers").scalar_one()
    assert stored == 0
    assert runtime.bus.backlog() == 0
