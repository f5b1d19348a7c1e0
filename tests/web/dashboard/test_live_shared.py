"""``/live``: one stream carrying several subscriptions, each dashboard one checked against the
signed-in user's servers, each event naming its subscription and number."""

from __future__ import annotations

import json

from tests.web.dashboard.test_live import GUILD, OTHER, _read, app, backend, client, discord

__all__ = ["app", "backend", "client", "discord"]


def _shared(client, *subs: str, connection: str | None = None):  # type: ignore[no-untyped-def]
    query = [("s", sub) for sub in subs] + ([("c", connection)] if connection else [])
    answer = client.get("/live", query_string=query, buffered=False)
    return answer, iter(answer.response)


def _event(events) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    chunk = _read(events)
    while chunk.startswith((":", "retry:")):
        chunk = _read(events)
    name, data = chunk.strip().split("\n")
    return name.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def test_one_stream_carries_several_topics_each_with_its_number(client, backend):
    backend.publish([(GUILD, "events")] * 2)
    answer, events = _shared(client, f"d:{GUILD}:vip", f"d:{GUILD}:events:1")
    assert answer.status_code == 200
    assert answer.mimetype == "text/event-stream"
    assert _event(events) == ("ready", {"sub": f"d:{GUILD}:vip", "id": 0, "data": {"topic": "vip"}})
    assert _event(events) == (  # it missed the second change of events
        "changed",
        {"sub": f"d:{GUILD}:events", "id": 2, "data": {"topic": "events"}},
    )
    backend.publish([(GUILD, "vip")])
    assert _event(events) == (
        "changed",
        {"sub": f"d:{GUILD}:vip", "id": 1, "data": {"topic": "vip"}},
    )
    answer.close()


def test_a_server_the_user_may_not_manage_is_refused_and_the_rest_still_streams(client, backend):
    answer, events = _shared(client, f"d:{OTHER}:vip", f"d:{GUILD}:raffle")
    assert answer.status_code == 200
    name, data = _event(events)
    assert (name, data["sub"], data["data"]) == (
        "refused",
        f"d:{OTHER}:vip",
        {"reason": "Not your server."},
    )
    assert _event(events)[0] == "ready"
    backend.publish([(OTHER, "vip")])  # never told: not theirs
    backend.publish([(GUILD, "raffle")])
    assert _event(events) == (
        "changed",
        {"sub": f"d:{GUILD}:raffle", "id": 1, "data": {"topic": "raffle"}},
    )
    answer.close()


def test_nonsense_subscriptions_follow_nothing(client, app):
    assert _shared(client, "d:x:vip", "o:short", f"d:{GUILD}:secrets")[0].status_code == 404
    with app.test_client() as anonymous:
        answer, events = _shared(anonymous, f"d:{GUILD}:vip")
        name, data = _event(events)
        assert (name, data["data"]) == ("refused", {"reason": "Sign in again."})
        answer.close()


def test_a_new_stream_of_the_same_connection_replaces_the_old_at_once(client, app):
    hub = app.extensions["live"]
    first, first_events = _shared(client, f"d:{GUILD}:vip", connection="tab-worker-1")
    _event(first_events)
    second, _ = _shared(client, f"d:{GUILD}:vip", f"d:{GUILD}:events", connection="tab-worker-1")
    assert second.status_code == 200
    assert hub.open_streams == 1  # the first gave its place back when the second came
    assert list(first_events) == []  # and it ended without waiting for a heartbeat
    first.close()
    second.close()
    assert hub.open_streams == 0
