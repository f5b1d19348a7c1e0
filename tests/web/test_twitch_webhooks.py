"""POST /webhooks/twitch through the Flask app: signed EventSub deliveries built from Twitch's
examples, on both databases (and Redis for the queue outage). Every refusal queues nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.twitch_eventsub import (
    FIXTURE_OF,
    SECRET,
    EventSubSender,
    fixture,
    notification_body,
)

GUILD = 111
OTHER_GUILD = 222
BROADCASTER = "1337"  # the broadcaster in most of Twitch's examples


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def runtime(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url, TWITCH_EVENTSUB_SECRET=SECRET)
    runtime.guilds.set_twitch_channel(GUILD, "cooler_user", BROADCASTER)
    runtime.guilds.set_twitch_channel(OTHER_GUILD, "someone_else", "4242")
    return runtime


@pytest.fixture
def client(runtime):
    return runtime.create_web_app().test_client()


@pytest.fixture
def twitch(client) -> EventSubSender:
    return EventSubSender.flask(client, now)


@pytest.mark.parametrize("subscription_type", sorted(FIXTURE_OF))
def test_every_handled_notification_is_queued(twitch, runtime, subscription_type):
    status, answer = twitch.notify(subscription_type, BROADCASTER)
    assert (status, answer["status"]) == (200, "queued")
    assert runtime.bus.backlog() == 1


def test_the_challenge_is_echoed_as_plain_text(client, runtime):
    body = json.dumps(fixture("webhook_callback_verification")).encode()

    def post(path, data, headers):  # keep the whole response: its type matters here
        response = client.post(path, data=data, headers=headers)
        return response.status_code, response

    status, response = EventSubSender(post, now).send(
        body, message_type="webhook_callback_verification", subscription_type="channel.follow"
    )
    assert status == 200
    assert response.get_data() == b"pogchamp-kappa-360noscope-vohiyo"
    assert response.mimetype == "text/plain"
    assert runtime.bus.backlog() == 0


@pytest.mark.parametrize("challenge", ["\ud800", "caf\u00e9", "a\nb", ""])
def test_a_signed_challenge_no_twitch_would_send_is_a_400(twitch, runtime, challenge):
    """Twitch's challenges are printable ASCII: one that is not cannot be echoed back as it is
    (a lone surrogate did not even encode: a 500)."""
    body = fixture("webhook_callback_verification")
    body["challenge"] = challenge
    status, answer = twitch.send(
        json.dumps(body).encode(), message_type="webhook_callback_verification"
    )
    assert status == 400
    assert answer["status"] != "queued"
    assert runtime.bus.backlog() == 0


def test_a_challenge_with_a_bad_signature_is_not_answered(client, runtime):
    body = json.dumps(fixture("webhook_callback_verification")).encode()
    status, answer = EventSubSender.flask(client, now, secret="another-secret-0000").send(
        body, message_type="webhook_callback_verification"
    )
    assert (status, answer["status"]) == (403, "rejected")
    assert "pogchamp" not in json.dumps(answer)


def test_a_revocation_is_recorded_once_and_listed_for_its_broadcaster(twitch, runtime):
    body = fixture("revocation")
    body["subscription"]["condition"]["broadcaster_user_id"] = BROADCASTER
    raw = json.dumps(body).encode()

    first = twitch.send(raw, message_type="revocation", message_id="rev-1")
    retried = twitch.send(raw, message_type="revocation", message_id="rev-1")

    assert [first[0], retried[0]] == [200, 200]
    assert [first[1]["status"], retried[1]["status"]] == ["revoked", "duplicate"]
    [kept] = runtime.twitch_revocations.of_broadcaster(BROADCASTER)
    assert (kept.subscription_id, kept.subscription_type, kept.status) == (
        "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
        "channel.follow",
        "authorization_revoked",
    )
    assert runtime.twitch_revocations.of_broadcaster("4242") == []
    assert runtime.bus.backlog() == 0


MESSAGE_TYPE = "Twitch-Eventsub-Message-Type"


def test_a_captured_notification_replayed_as_a_revocation_is_refused(twitch, runtime):
    # The message-type header is not signed: the same signed id, timestamp and body, retyped.
    body = json.dumps(notification_body_for("stream.online")).encode()
    sent_at = now()
    queued = twitch.send(body, message_id="n-1", sent_at=sent_at)
    replayed = twitch.send(
        body, message_id="n-1", sent_at=sent_at, header_changes={MESSAGE_TYPE: "revocation"}
    )
    fresh = twitch.send(body, message_id="n-2", header_changes={MESSAGE_TYPE: "revocation"})
    assert queued[1]["status"] == "queued"
    assert (replayed[0], replayed[1]["status"]) == (400, "rejected")
    assert (fresh[0], fresh[1]["status"]) == (400, "rejected")
    assert runtime.twitch_revocations.of_broadcaster(BROADCASTER) == []
    assert runtime.bus.backlog() == 1


@pytest.mark.parametrize(
    ("fixture_name", "sent_as"),
    [
        ("revocation", "notification"),
        ("webhook_callback_verification", "notification"),
        ("webhook_callback_verification", "revocation"),
        ("stream.online", "webhook_callback_verification"),
    ],
)
def test_a_body_whose_shape_is_not_its_message_type_is_refused(
    twitch, runtime, fixture_name, sent_as
):
    body = fixture(fixture_name)
    body["subscription"].setdefault("condition", {})["broadcaster_user_id"] = BROADCASTER
    status, answer = twitch.send(json.dumps(body).encode(), message_type=sent_as)
    assert (status, answer["status"]) == (400, "rejected")
    assert "pogchamp" not in json.dumps(answer)
    assert runtime.twitch_revocations.of_broadcaster(BROADCASTER) == []
    assert runtime.bus.backlog() == 0


def notification_body_for(subscription_type: str) -> dict:
    body = fixture(FIXTURE_OF.get(subscription_type, subscription_type))
    body["event"]["broadcaster_user_id"] = BROADCASTER
    return body


def test_a_repeated_message_id_is_a_duplicate_and_queued_once(twitch, runtime):
    first = twitch.notify("channel.subscription.gift", BROADCASTER, delivery_id="gift-msg-1")
    again = twitch.notify("channel.subscription.gift", BROADCASTER, delivery_id="gift-msg-1")
    assert [first[1]["status"], again[1]["status"]] == ["queued", "duplicate"]
    assert again[0] == 200
    assert runtime.bus.backlog() == 1


def test_one_chat_message_under_two_message_ids_is_queued_once(twitch, runtime):
    """Its own message id is the event id, which a WebSocket copy would share."""
    assert twitch.notify("channel.chat.message", BROADCASTER)[1]["status"] == "queued"
    assert twitch.notify("channel.chat.message", BROADCASTER)[1]["status"] == "duplicate"
    assert runtime.bus.backlog() == 1


def test_one_gifters_gifts_in_two_channels_with_the_same_running_total_are_both_queued(
    twitch, runtime
):
    """``cumulative_total`` counts a gifter's gifts in one channel: their first gift in each of
    two tracked channels has the same total there, and is still two gifts."""
    first = twitch.notify("channel.subscription.gift", BROADCASTER, cumulative_total=1)
    other = twitch.notify("channel.subscription.gift", "4242", cumulative_total=1)

    assert [first[1]["status"], other[1]["status"]] == ["queued", "queued"]
    assert runtime.bus.backlog() == 2


def test_a_twitch_and_a_kick_message_id_never_meet(twitch, runtime, kick_keys, client):
    from core.platforms.kick.signing import signed_headers
    from tests.conftest import FIXTURES

    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", "123456789")
    kick_body = (FIXTURES / "kick" / "channel.followed.json").read_bytes()
    headers = signed_headers(kick_keys[0], kick_body, event_type="channel.followed")
    shared_id = headers["Kick-Event-Message-Id"]
    assert client.post("/webhooks/kick", data=kick_body, headers=headers).json["status"] == "queued"

    status, answer = twitch.notify("channel.vip.add", BROADCASTER, delivery_id=shared_id)

    assert (status, answer["status"]) == (200, "queued")
    assert runtime.bus.backlog() == 2


def test_an_untracked_broadcaster_is_acknowledged_without_effect(twitch, runtime):
    status, answer = twitch.notify("channel.chat.message", "99999")
    assert (status, answer["status"]) == (200, "ignored")
    assert runtime.bus.backlog() == 0


UNHANDLED = b'{"subscription":{"type":"channel.follow","status":"enabled"},"event":{}}'


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (lambda t: t.send(UNHANDLED, subscription_type="channel.follow"), 200),
        (lambda t: t.send(b"{}", message_type="something_new"), 200),
        # No event: not a notification, whatever the (unsigned) message type says.
        (lambda t: t.send(b"{}", subscription_type="channel.follow"), 400),
    ],
)
def test_what_we_do_not_handle_is_acknowledged_without_effect(twitch, runtime, send, status):
    assert send(twitch)[0] == status
    assert runtime.bus.backlog() == 0


def _body(subscription_type: str = "channel.chat.message") -> bytes:
    from tests.fakes.twitch_eventsub import notification_body

    return json.dumps(notification_body(subscription_type, BROADCASTER)).encode()


SIGNATURE = "Twitch-Eventsub-Message-Signature"
REFUSALS = {
    "bad signature": (lambda t: t.send(_body(), header_changes={SIGNATURE: "sha256=00"}), 403),
    "missing signature": (lambda t: t.send(_body(), header_changes={SIGNATURE: None}), 403),
    "stale timestamp": (lambda t: t.send(_body(), sent_at=now() - timedelta(minutes=11)), 403),
    "future timestamp": (lambda t: t.send(_body(), sent_at=now() + timedelta(minutes=5)), 403),
    "missing message id": (
        lambda t: t.send(_body(), header_changes={"Twitch-Eventsub-Message-Id": None}),
        400,
    ),
    "missing message type": (
        lambda t: t.send(_body(), header_changes={"Twitch-Eventsub-Message-Type": None}),
        400,
    ),
    "missing timestamp": (
        lambda t: t.send(_body(), header_changes={"Twitch-Eventsub-Message-Timestamp": None}),
        400,
    ),
    "JSON array": (lambda t: t.send(b"[]", subscription_type="channel.chat.message"), 400),
    "not JSON": (lambda t: t.send(b"hello", subscription_type="channel.chat.message"), 400),
    "an id that is no id": (
        lambda t: t.notify("channel.chat.message", BROADCASTER, chatter_user_id="\u2603" * 3),
        400,
    ),
    "over 1 MiB": (
        lambda t: t.send(b'{"pad": "' + b"x" * (1024 * 1024) + b'"}', subscription_type="x"),
        413,
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_refusal_has_its_status_and_queues_nothing(twitch, runtime, case):
    send, expected = REFUSALS[case]
    status, answer = send(twitch)
    assert status == expected
    if status != 413:  # Werkzeug answers that one itself, before the view
        assert answer["status"] == "rejected"
    assert runtime.bus.backlog() == 0


@pytest.mark.parametrize("joined", ["notification, notification", "notification,revocation"])
def test_a_repeated_message_type_header_is_refused_and_the_retry_is_queued(twitch, runtime, joined):
    """A header sent twice reaches the app as one value joined by a comma: answered "ignored"
    (200), Twitch never sent the notification again."""
    body = json.dumps(notification_body("channel.subscribe", BROADCASTER)).encode()
    doubled = twitch.send(
        body, message_id="sub-1", header_changes={"Twitch-Eventsub-Message-Type": joined}
    )
    assert runtime.bus.backlog() == 0
    retried = twitch.send(body, message_id="sub-1")
    assert (doubled[0], doubled[1]["status"]) == (400, "rejected")
    assert (retried[0], retried[1]["status"]) == (200, "queued")


def test_a_refused_delivery_is_accepted_when_sent_right(twitch, runtime):
    """A refusal remembers nothing: Twitch's next, correct delivery of the id is queued."""
    bad = twitch.send(_body(), message_id="retry-1", header_changes={SIGNATURE: "sha256=00"})
    good = twitch.send(_body(), message_id="retry-1", subscription_type="channel.chat.message")
    assert (bad[0], good[0], good[1]["status"]) == (403, 200, "queued")


def test_without_a_secret_every_delivery_is_refused(make_runtime, migrated_database_url):
    runtime = make_runtime(DATABASE_URL=migrated_database_url)
    runtime.guilds.set_twitch_channel(GUILD, "cooler_user", BROADCASTER)
    twitch = EventSubSender.flask(runtime.create_web_app().test_client(), now)
    status, answer = twitch.notify("channel.chat.message", BROADCASTER)
    assert (status, answer["status"]) == (403, "rejected")
    assert "TWITCH_EVENTSUB_SECRET" in answer["detail"]
    assert runtime.bus.backlog() == 0


@pytest.fixture
def redis_runtime(make_runtime, redis_url):
    import redis

    url = redis_url.rsplit("/", 1)[0] + "/6"  # a database of its own
    client = redis.Redis.from_url(url, decode_responses=True)

    def forget_streamkeeper_keys() -> None:
        for key in client.scan_iter("sk:*"):
            client.delete(key)

    forget_streamkeeper_keys()
    runtime = make_runtime(REDIS_URL=url, TWITCH_EVENTSUB_SECRET=SECRET)
    runtime.guilds.set_twitch_channel(GUILD, "cooler_user", BROADCASTER)
    yield runtime, client
    forget_streamkeeper_keys()
    client.close()


def test_with_redis_a_queue_outage_answers_503_and_twitchs_retry_is_queued(redis_runtime):
    runtime, redis_client = redis_runtime
    twitch = EventSubSender.flask(runtime.create_web_app().test_client(), now)
    redis_client.set("sk:events", "not a stream")  # the XADD fails inside Redis

    refused = twitch.notify("channel.subscription.gift", BROADCASTER, delivery_id="outage-1")
    redis_client.delete("sk:events")
    retried = twitch.notify("channel.subscription.gift", BROADCASTER, delivery_id="outage-1")
    again = twitch.notify("channel.subscription.gift", BROADCASTER, delivery_id="outage-1")

    assert (refused[0], refused[1]["status"]) == (503, "unavailable")
    assert (retried[0], retried[1]["status"]) == (200, "queued")
    assert (again[0], again[1]["status"]) == (200, "duplicate")
    assert redis_client.xlen("sk:events") == 1
