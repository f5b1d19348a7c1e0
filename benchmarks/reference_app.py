"""Reference WSGI apps, served by the same gunicorn as StreamKeeper, to split its cost per request.

Each answers ``POST /webhooks/kick`` with the same kind of JSON as StreamKeeper, doing less:

- ``bare``: plain WSGI, reads the body, answers a fixed JSON body (gunicorn's own cost);
- ``flask``: a Flask view that reads the body and answers ``jsonify(...)`` (+ Flask);
- ``flask_redis``: that, plus the two Redis commands StreamKeeper's path sends in turn, with
  redis-py (``SET NX EX`` of the message id, ``XADD`` of the body): + two Redis round trips.

The rest of StreamKeeper's cost (signature, timestamp, JSON parse, event building, routing,
metrics, the publish script) is the difference to the real endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import redis
from flask import Flask, jsonify, request

_ANSWER = b'{"detail":"chat_message_sent","status":"queued"}\n'


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(_ANSWER)))]
    )
    return [_ANSWER]


flask = Flask("reference_flask")


@flask.post("/webhooks/kick")
def flask_view():  # type: ignore[no-untyped-def]
    request.get_data(cache=False)
    return jsonify(status="queued", detail="chat_message_sent"), 200


flask_redis = Flask("reference_flask_redis")
_client = redis.Redis.from_url(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    socket_timeout=5,
    socket_connect_timeout=5,
)


@flask_redis.post("/webhooks/kick")
def flask_redis_view():  # type: ignore[no-untyped-def]
    body = request.get_data(cache=False)
    message_id = request.headers.get("Kick-Event-Message-Id", "")
    if _client.set(f"ref:seen:{message_id}", 1, nx=True, ex=3600):
        _client.xadd("ref:events", {"event": body}, maxlen=1_000_000, approximate=True)
    return jsonify(status="queued", detail="chat_message_sent"), 200


# --- what-if: StreamKeeper with one Redis round trip per webhook instead of two ----------------

_ONE_ROUND_TRIP_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return false
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return false
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'event', ARGV[4])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
return id
"""


class _AlwaysFirst:
    def first_sighting(self, message_id: str) -> bool:
        return True

    def forget(self, message_id: str) -> None:
        return None


def one_round_trip():  # type: ignore[no-untyped-def]
    """The real app (``create_app`` with the real Runtime), except that the replay guard's
    ``SET NX`` moves into the publish script: one Redis round trip per webhook instead of two.

    A cost model of a change, not a proposal of code: the replay key here is derived from the
    event key, because ``publish`` is not given the webhook's message id.
    """
    import json

    from core.bus.redis_streams import SEEN_PREFIX
    from core.events import event_to_dict
    from core.runtime import Runtime
    from core.web.app import create_app

    runtime = Runtime.from_environment(env_file=None)
    runtime.migrate()
    bus = runtime.bus
    script = bus._client.register_script(_ONE_ROUND_TRIP_SCRIPT)  # type: ignore[attr-defined]

    def publish(event):  # type: ignore[no-untyped-def]
        payload = json.dumps(event_to_dict(event), separators=(",", ":"))
        entry_id = script(
            keys=[f"sk:webhook-seen:{event.key}", SEEN_PREFIX + event.key, bus.stream],  # type: ignore[attr-defined]
            args=[86_400, bus.dedupe_ttl_seconds, bus.maxlen, payload],  # type: ignore[attr-defined]
        )
        return entry_id is not None

    runtime.kick_receiver.replay_guard = _AlwaysFirst()
    runtime.kick_receiver.publish = publish
    return create_app(runtime.web_services())
