"""The Kick webhook receiver through the Flask app, from signed request to stored watchtime."""

from __future__ import annotations

import http.client
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from core.features.watchtime.tables import watch_streams
from core.platforms.kick.signing import signed_headers
from core.settings_guards import KICK_AGE_CHECK_OFF
from tests.conftest import FIXTURES
from tests.support.clock import Clock
from tests.support.delivery import deliver_all

GUILD = 111
OTHER_GUILD = 222
BROADCASTER = "123456789"  # the broadcaster in Kick's example payloads
EVENT_TYPES = [
    "chat.message.sent",
    "channel.followed",
    "channel.subscription.new",
    "channel.subscription.renewal",
    "channel.subscription.gifts",
    "channel.reward.redemption.updated",
    "livestream.status.updated",
    "livestream.metadata.updated",
    "moderation.banned",
    "kicks.gifted",
]


def fixture_body(event_type: str) -> bytes:
    return (FIXTURES / "kick" / f"{event_type}.json").read_bytes()


def fresh_chat_body(said_at: datetime) -> bytes:
    """Kick's example chat message, said at ``said_at`` (the example's own date is in 2025)."""
    payload = json.loads(fixture_body("chat.message.sent"))
    payload["created_at"] = said_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(payload).encode()


@pytest.fixture
def runtime(kick_examples_runtime):
    return kick_examples_runtime


@pytest.fixture
def client(runtime):
    return runtime.create_web_app().test_client()


@pytest.fixture
def post(client, kick_keys):
    def post(body: bytes, event_type: str = "chat.message.sent", **header_options):
        headers = signed_headers(kick_keys[0], body, event_type=event_type, **header_options)
        return client.post("/webhooks/kick", data=body, headers=headers)

    return post


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_kick_event_type_is_queued(post, runtime, event_type):
    body = fixture_body(event_type)
    if event_type == "channel.reward.redemption.updated":
        body = body.replace(b'"user_id": 333', f'"user_id": {BROADCASTER}'.encode())

    response = post(body, event_type)

    assert response.status_code == 200
    assert response.json["status"] == "queued"
    assert runtime.bus.backlog() == 1


def test_chat_webhook_becomes_watchtime_after_the_next_tick(post, runtime):
    now = datetime.now(UTC).replace(microsecond=0)
    runtime.tick_all(now - timedelta(seconds=60))
    assert post(fresh_chat_body(now - timedelta(seconds=30))).json["status"] == "queued"
    deliver_all(runtime)

    runtime.tick_all(now)

    [row] = runtime.watchtime.export(GUILD)
    assert (row.platform_user_id, row.username, row.seconds) == ("987654321", "sender_name", 60)
    assert runtime.watchtime.export(OTHER_GUILD) == []


def test_the_same_webhook_twice_counts_once(client, runtime, kick_keys):
    now = datetime.now(UTC).replace(microsecond=0)
    body = fresh_chat_body(now - timedelta(seconds=30))
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    runtime.tick_all(now - timedelta(seconds=60))

    first = client.post("/webhooks/kick", data=body, headers=headers)
    second = client.post("/webhooks/kick", data=body, headers=headers)
    deliver_all(runtime)
    runtime.tick_all(now)

    assert (first.json["status"], second.json["status"]) == ("queued", "duplicate")
    assert second.status_code == 200
    assert [row.seconds for row in runtime.watchtime.export(GUILD)] == [60]


def test_the_same_chat_message_under_a_new_message_id_is_queued_once(post, runtime):
    body = fixture_body("chat.message.sent")
    assert post(body).json["status"] == "queued"
    assert post(body).json["status"] == "duplicate"
    assert runtime.bus.backlog() == 1


@pytest.mark.parametrize(
    ("event_type", "again_as"),
    [
        ("channel.subscription.gifts", "channel.subscription.gifts"),
        ("kicks.gifted", "kicks.gifted"),
        ("channel.subscription.renewal", "channel.subscription.new"),
    ],
)
def test_another_apps_copy_of_what_earns_is_queued_once(post, runtime, event_type, again_as):
    """Kick signs every app's deliveries with one key: a copy another app received for the
    same channel, forwarded to us under its own message id (and its type header, which is not
    signed, changed), is the same event, not a second gift, tip or sub."""
    body = fixture_body(event_type)
    assert post(body, event_type).json["status"] == "queued"
    assert post(body, again_as).json["status"] == "duplicate"
    assert runtime.bus.backlog() == 1


@pytest.mark.parametrize(
    ("event_type", "sent_as"),
    [
        ("chat.message.sent", "livestream.status.updated"),
        ("channel.followed", "livestream.status.updated"),
        ("chat.message.sent", "livestream.metadata.updated"),
        ("moderation.banned", "livestream.metadata.updated"),
        ("chat.message.sent", "kicks.gifted"),
        ("kicks.gifted", "chat.message.sent"),
        ("chat.message.sent", "channel.subscription.gifts"),
    ],
)
def test_a_genuine_delivery_relabelled_as_another_type_makes_no_event(
    post, runtime, event_type, sent_as
):
    """The type header is not signed: anyone whose Kick app gets the channel's chat can send us
    their own chat message's delivery as "livestream.status.updated". It must not be read as the
    stream going live (watchtime paid while offline, the online notice said in chat)."""
    body = fixture_body(event_type)

    response = post(body, sent_as)

    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert runtime.bus.backlog() == 0
    deliver_all(runtime)
    with runtime.engine.connect() as conn:
        assert conn.execute(watch_streams.select()).all() == []  # not live, nor ended


def test_unknown_broadcaster_is_acknowledged_without_effect(post, runtime):
    body = fixture_body("chat.message.sent").replace(b"123456789", b"55555")
    response = post(body)
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert runtime.bus.backlog() == 0


def test_unknown_event_type_is_acknowledged_without_effect(post, runtime):
    response = post(b'{"broadcaster": {"user_id": 123456789}}', "channel.hype_train.begin")
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert runtime.bus.backlog() == 0


def test_signed_object_without_a_sender_is_acknowledged_without_effect(post, runtime):
    response = post(b'{"broadcaster": {"user_id": 123456789}, "content": "hi"}')
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert runtime.bus.backlog() == 0


def _mutate(headers: dict[str, str], name: str, value: str | None) -> dict[str, str]:
    changed = dict(headers)
    if value is None:
        del changed[name]
    else:
        changed[name] = value
    return changed


@pytest.mark.parametrize(
    ("header", "value", "status", "reason"),
    [
        ("Kick-Event-Signature", None, 400, "missing_headers"),
        ("Kick-Event-Message-Id", None, 400, "missing_headers"),
        ("Kick-Event-Message-Timestamp", None, 400, "missing_headers"),
        ("Kick-Event-Type", None, 400, "missing_headers"),
        ("Kick-Event-Signature", "bm90IGEgc2lnbmF0dXJl", 401, "bad_signature"),
        ("Kick-Event-Signature", "%%%not base64%%%", 401, "bad_signature"),
        ("Kick-Event-Message-Id", "01OTHERMESSAGEID000000000", 401, "bad_signature"),
        ("Kick-Event-Message-Timestamp", "2030-01-01T00:00:00Z", 401, "bad_signature"),
    ],
)
def test_bad_headers_are_refused(client, runtime, kick_keys, header, value, status, reason):
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")

    response = client.post("/webhooks/kick", data=body, headers=_mutate(headers, header, value))

    assert response.status_code == status
    assert response.json["status"] == "rejected"
    assert runtime.metrics.webhooks_rejected.value(platform="kick", reason=reason) == 1
    assert runtime.bus.backlog() == 0


def test_body_signed_by_another_key_is_refused(client, runtime):
    from core.platforms.kick.signing import generate_key_pair

    stranger, _ = generate_key_pair()
    body = fixture_body("chat.message.sent")
    headers = signed_headers(stranger, body, event_type="chat.message.sent")
    assert client.post("/webhooks/kick", data=body, headers=headers).status_code == 401


def test_tampered_body_is_refused(client, kick_keys):
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    tampered = body.replace(b"sender_name", b"someone_else")
    assert client.post("/webhooks/kick", data=tampered, headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("age", "status"),
    [(0, 200), (600, 200), (601, 401), (-60, 200), (-61, 401), (-3600, 401), (86400, 401)],
)
def test_timestamps_outside_the_window_are_refused(make_runtime, kick_keys, age, status):
    """Up to 600 s old and 60 s ahead (the default window), to the second: the receiver reads the
    time from the runtime's clock, held still here, so the edges are exact."""
    clock = Clock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    runtime = make_runtime(clock=clock)
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    body = fixture_body("chat.message.sent")
    sent_at = clock() - timedelta(seconds=age)
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent", timestamp=sent_at)

    response = (
        runtime.create_web_app().test_client().post("/webhooks/kick", data=body, headers=headers)
    )

    assert response.status_code == status
    assert runtime.bus.backlog() == (1 if status == 200 else 0)


def test_max_age_zero_turns_the_age_check_off_and_says_so(make_runtime, kick_keys, caplog):
    """DESIGN.md's settings: 0 turns the age check off (a test bench's choice), and the start
    says in one line what that lets in."""
    with caplog.at_level(logging.WARNING, logger="core.wiring.kick"):
        runtime = make_runtime(KICK_WEBHOOK_MAX_AGE_SECONDS="0")
    assert [r.getMessage() for r in caplog.records if r.name == "core.wiring.kick"] == [
        KICK_AGE_CHECK_OFF
    ]
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    body = fixture_body("chat.message.sent")
    headers = signed_headers(
        kick_keys[0],
        body,
        event_type="chat.message.sent",
        timestamp=datetime(2025, 4, 1, tzinfo=UTC),
    )
    response = (
        runtime.create_web_app().test_client().post("/webhooks/kick", data=body, headers=headers)
    )
    assert response.status_code == 200


def test_within_the_widest_age_window_a_replay_is_still_a_duplicate(make_runtime, kick_keys):
    """KICK_WEBHOOK_MAX_AGE_SECONDS stops at a day, as long as message ids are remembered: a
    signed delivery sent again just inside the window, after the nightly prune, changes
    nothing (with no window at all, a week later, it was queued again)."""
    from core.wiring.infrastructure import prune

    clock = Clock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    runtime = make_runtime(clock=clock, KICK_WEBHOOK_MAX_AGE_SECONDS="86400")
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent", timestamp=clock())
    client = runtime.create_web_app().test_client()
    assert client.post("/webhooks/kick", data=body, headers=headers).json["status"] == "queued"
    deliver_all(runtime)

    clock.advance(days=1)
    prune(runtime)
    again = client.post("/webhooks/kick", data=body, headers=headers)
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    clock.advance(seconds=1)
    assert client.post("/webhooks/kick", data=body, headers=headers).status_code == 401
    assert runtime.bus.backlog() == 0


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[1, 2]", b'"a string"', b"null", b"\xff\xfe{}", b'{"a": ']
)
def test_body_that_is_not_a_json_object_is_refused(post, body):
    response = post(body)
    assert response.status_code == 400
    assert response.json["status"] == "rejected"


def test_body_over_one_mebibyte_is_refused(post, runtime):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = post(body)
    assert response.status_code == 413
    assert runtime.bus.backlog() == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/webhooks/kick", "/webhooks/twitch"])
def test_wrong_method_gets_a_json_405(client, runtime, method, path):
    response = client.open(path, method=method, data=fixture_body("chat.message.sent"))
    assert response.status_code == 405
    assert response.json["status"] == "error"
    assert response.headers["Allow"] == "POST"
    assert runtime.bus.backlog() == 0


def test_a_path_beside_the_webhooks_is_flasks_404(client):
    for path in ("/webhooks/kick/", "/webhooks/KICK", "/webhooks", "/webhooks/kick/extra"):
        response = client.post(path, data=b"{}")
        assert (response.status_code, response.json["status"]) == (404, "error"), path


def test_an_unexpected_error_is_a_logged_json_500_that_tells_nothing(
    post, runtime, monkeypatch, caplog
):
    def broken(headers, body):
        raise RuntimeError("secret detail: dsn=postgres://user:pw@host")

    monkeypatch.setattr(runtime.kick_receiver, "receive", broken)
    response = post(fixture_body("chat.message.sent"))
    assert response.status_code == 500
    assert response.json == {"status": "error", "detail": "internal error"}
    assert b"secret" not in response.data
    assert "secret detail" in caplog.text  # the operator's log has it, the sender does not


def test_the_real_server_takes_a_chunked_delivery_and_answers_json(runtime, kick_keys):
    """waitress, not the test client: a body sent in chunks (no Content-Length) is read whole."""
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    server = runtime.start_web_server()
    try:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        chunks = iter([body[:100], body[100:]])
        connection.request("POST", "/webhooks/kick", body=chunks, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        assert response.getheader("Transfer-Encoding") is None
        assert response.getheader("Content-Type") == "application/json"
        assert int(response.getheader("Content-Length")) == len(answer)
        assert (response.status, json.loads(answer)["status"]) == (200, "queued")
        # The connection is kept alive: the same delivery again is a duplicate, nothing more.
        connection.request("POST", "/webhooks/kick", body=body, headers=headers)
        again = connection.getresponse()
        assert (again.status, json.loads(again.read())["status"]) == (200, "duplicate")
        connection.close()
    finally:
        server.close()
    assert runtime.bus.backlog() == 1


def test_a_repeated_event_type_header_is_refused_so_that_the_retry_can_be_queued(
    runtime, kick_keys
):
    """A header sent twice reaches the app as one value joined by a comma (waitress writes
    ", ", gunicorn ","): no event type is that. Answered "ignored" (200) the signed delivery
    was lost; a 400 leaves nothing behind, and the retry with one header is queued."""
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    server = runtime.start_web_server()
    try:

        def post(*extra: tuple[str, str]) -> tuple[int, dict]:
            connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
            connection.putrequest("POST", "/webhooks/kick")
            for name, value in [*headers.items(), *extra]:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            answer = (response.status, json.loads(response.read()))
            connection.close()
            return answer

        doubled = post(("Kick-Event-Type", "chat.message.sent"))
        assert runtime.bus.backlog() == 0
        retried = post()
    finally:
        server.close()
    assert (doubled[0], doubled[1]["status"]) == (400, "rejected")
    assert (retried[0], retried[1]["status"]) == (200, "queued")
    assert runtime.bus.backlog() == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"broadcaster": "x", "sender": 5}',
        b'{"broadcaster": {"user_id": {"nested": 1}}, "sender": {"user_id": []}}',
        b'{"broadcaster": {"user_id": 123456789}, "sender": {"user_id": 1, "identity": 7}}',
        b'{"broadcaster": {"user_id": 123456789}, "sender": {"user_id": 1}, "created_at": 12}',
        b'{"broadcaster": null, "giftees": "many", "metadata": []}',
    ],
)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_malformed_signed_payloads_never_cause_a_server_error(post, body, event_type):
    response = post(body, event_type)
    assert response.status_code == 200
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_number_that_is_no_id_is_refused_with_400_and_leaves_nothing(post, runtime, event_type):
    body = json.dumps({"broadcaster": {"user_id": 1e308}, "sender": {"user_id": -1}}).encode()
    response = post(body, event_type)
    assert (response.status_code, response.json["status"]) == (400, "rejected")
    assert response.json["detail"].startswith("broadcaster.user_id")
    assert runtime.metrics.webhooks_rejected.value(platform="kick", reason="invalid_payload") == 1
    assert runtime.bus.backlog() == 0


def test_queue_outage_answers_503_and_a_retry_is_accepted_later(post, runtime, monkeypatch):
    from core.bus.base import BusUnavailable

    body = fixture_body("chat.message.sent")
    headers_kwargs = {"message_id": "01RETRYMESSAGE000000000000"}

    def broken(_event):
        raise BusUnavailable("the event queue in the database is unavailable")

    def broken_delivery(_event, _message_id):
        raise BusUnavailable("the event queue in the database is unavailable")

    monkeypatch.setattr(runtime.kick_receiver.answers, "publish", broken)
    monkeypatch.setattr(runtime.kick_receiver.answers, "publish_delivery", broken_delivery)
    assert post(body, **headers_kwargs).status_code == 503
    monkeypatch.undo()

    retry = post(body, **headers_kwargs)
    assert (retry.status_code, retry.json["status"]) == (200, "queued")


class ProcessKilled(BaseException):
    """Stands for kill -9: the process stops where it is, and no cleanup code runs."""


def test_a_process_killed_while_storing_a_delivery_remembers_nothing(post, runtime):
    """The message id and the event are stored in one transaction: a crash between the two
    must not leave the id remembered without the event (Kick's retry would be a "duplicate")."""
    import sqlalchemy as sa

    body = fixture_body("chat.message.sent")
    message = {"message_id": "01KILLEDMESSAGE00000000000"}

    def die_on_event_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO BUS_EVENTS"):
            raise ProcessKilled

    sa.event.listen(runtime.engine, "before_cursor_execute", die_on_event_insert)
    try:
        with pytest.raises(ProcessKilled):
            post(body, **message)
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", die_on_event_insert)

    retry = post(body, **message)
    assert (retry.status_code, retry.json["status"]) == (200, "queued")
    assert runtime.bus.backlog() == 1


def test_metrics_count_outcomes_and_rejections(post, runtime):
    post(fixture_body("chat.message.sent"))
    post(b"[]")
    received, rejected = runtime.metrics.webhooks_received, runtime.metrics.webhooks_rejected
    assert received.value(platform="kick", outcome="queued") == 1
    assert rejected.value(platform="kick", reason="not_json_object") == 1
    assert (received.total(), rejected.total()) == (1, 1)


def test_health_reports_ok_as_json(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["checks"]["database"]["ok"] is True


# --- with the Redis bus: the message id is remembered in the same step that queues the event ---


@pytest.fixture
def redis_runtime(make_runtime, redis_url):
    import redis

    url = redis_url.rsplit("/", 1)[0] + "/5"  # a database of its own: the default stream name
    client = redis.Redis.from_url(url, decode_responses=True)

    def forget_streamkeeper_keys() -> None:  # only ours, should TEST_REDIS_URL be shared
        for key in client.scan_iter("sk:*"):
            client.delete(key)

    forget_streamkeeper_keys()
    runtime = make_runtime(REDIS_URL=url)
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    yield runtime, client
    forget_streamkeeper_keys()
    client.close()


def test_with_redis_a_repeated_message_id_or_event_is_a_duplicate_without_effect(
    redis_runtime, kick_keys
):
    runtime, redis_client = redis_runtime
    client = runtime.create_web_app().test_client()
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")

    first = client.post("/webhooks/kick", data=body, headers=headers)
    again = client.post("/webhooks/kick", data=body, headers=headers)
    resent = client.post(
        "/webhooks/kick",
        data=body,
        headers=signed_headers(kick_keys[0], body, event_type="chat.message.sent"),
    )

    assert [r.status_code for r in (first, again, resent)] == [200, 200, 200]
    assert [r.json["status"] for r in (first, again, resent)] == [
        "queued",
        "duplicate",
        "duplicate",
    ]
    assert redis_client.xlen("sk:events") == 1
    assert runtime.metrics.webhooks_received.value(platform="kick", outcome="duplicate") == 2


def test_with_redis_a_queue_failure_answers_503_and_kicks_retry_is_queued(redis_runtime, kick_keys):
    runtime, redis_client = redis_runtime
    client = runtime.create_web_app().test_client()
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    redis_client.set("sk:events", "not a stream")  # the XADD fails inside Redis

    refused = client.post("/webhooks/kick", data=body, headers=headers)
    redis_client.delete("sk:events")
    retry = client.post("/webhooks/kick", data=body, headers=headers)

    assert (refused.status_code, refused.json["status"]) == (503, "unavailable")
    assert "Traceback" not in refused.get_data(as_text=True)
    assert (retry.status_code, retry.json["status"]) == (200, "queued")
    assert redis_client.xlen("sk:events") == 1


def test_with_redis_refusals_queue_nothing_and_remember_nothing(redis_runtime, kick_keys):
    runtime, redis_client = redis_runtime
    client = runtime.create_web_app().test_client()
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")
    bad = {**headers, "Kick-Event-Signature": "bm90IGEgc2lnbmF0dXJl"}
    too_large = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'

    assert client.post("/webhooks/kick", data=body, headers=bad).status_code == 401
    assert client.post("/webhooks/kick", data=b"[]", headers=headers).status_code == 401
    not_an_object = signed_headers(kick_keys[0], b"[]", event_type="chat.message.sent")
    assert client.post("/webhooks/kick", data=b"[]", headers=not_an_object).status_code == 400
    assert client.post("/webhooks/kick", data=too_large, headers=headers).status_code == 413
    assert redis_client.dbsize() == 0
    # The genuine delivery with that message id is still accepted afterwards.
    response = client.post("/webhooks/kick", data=body, headers=headers)
    assert (response.status_code, response.json["status"]) == (200, "queued")


# --- while PostgreSQL is down: every lookup on the webhook path answers "retry later" ---


@pytest.fixture
def stoppable_postgres():
    from tests import services
    from tests.conftest import IS_CI

    try:
        with services.restartable_postgres() as server:
            yield server
    except services.ServiceUnavailable as exc:
        if IS_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.mark.parametrize("bus", ["embedded", "redis"])
def test_while_postgres_is_down_a_webhook_answers_503_and_its_retry_is_queued_later(
    make_runtime, stoppable_postgres, kick_keys, request, bus
):
    from tests.conftest import _fresh_postgres_database

    settings = {"DATABASE_URL": _fresh_postgres_database(stoppable_postgres.url)}
    if bus == "redis":
        import redis

        url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/6"
        redis.Redis.from_url(url).flushdb()
        settings["REDIS_URL"] = url
    runtime = make_runtime(**settings)
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", BROADCASTER)
    client = runtime.create_web_app().test_client()
    body = fixture_body("chat.message.sent")
    headers = signed_headers(kick_keys[0], body, event_type="chat.message.sent")

    stoppable_postgres.stop()
    try:
        refused = client.post("/webhooks/kick", data=body, headers=headers)
    finally:
        stoppable_postgres.start()
    retry = client.post("/webhooks/kick", data=body, headers=headers)

    assert (refused.status_code, refused.json["status"]) == (503, "unavailable")
    assert (retry.status_code, retry.json["status"]) == (200, "queued")
    assert runtime.bus.backlog() == 1


def status_body(*, is_live: bool, started_at: datetime, ended_at: datetime | None) -> bytes:
    payload = json.loads(fixture_body("livestream.status.updated"))
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    payload.update(
        is_live=is_live,
        started_at=started_at.strftime(stamp),
        ended_at=ended_at.strftime(stamp) if ended_at else None,
    )
    return json.dumps(payload).encode()


def test_a_late_end_of_the_previous_kick_stream_leaves_the_new_one_live(post, runtime):
    """Kick's livestream.status.updated of the first stream's end (ended_at 4 minutes ago)
    arrives after the second stream's start (started_at 2 minutes ago)."""
    now = datetime.now(UTC)
    first, second = now - timedelta(minutes=8), now - timedelta(minutes=2)
    event = "livestream.status.updated"
    for body in (
        status_body(is_live=True, started_at=first, ended_at=None),
        status_body(is_live=True, started_at=second, ended_at=None),
        status_body(is_live=False, started_at=first, ended_at=now - timedelta(minutes=4)),
    ):
        assert post(body, event).json["status"] == "queued"
        deliver_all(runtime)
    with runtime.engine.connect() as conn:
        live = conn.execute(
            watch_streams.select().where(watch_streams.c.broadcaster_user_id == "123456789")
        ).all()
    assert [row.is_live for row in live] == [True]
