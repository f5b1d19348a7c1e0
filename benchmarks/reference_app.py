"""Reference WSGI apps, served by the same gunicorn as StreamKeeper, to split its cost per request.

Each answers ``POST /webhooks/kick`` with the same kind of JSON as StreamKeeper, doing less:

- ``bare``: plain WSGI, reads the body, answers a fixed JSON body (gunicorn's own cost);
- ``flask``: a Flask view that reads the body and answers ``jsonify(...)`` (+ Flask);
- ``flask_redis``: that, plus two Redis commands in turn, with redis-py (``SET NX EX`` of the
  message id, ``XADD`` of the body): + two Redis round trips (StreamKeeper now sends one);
- ``two_round_trips()``: StreamKeeper with its replay guard apart from the publish, as it was.

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


# --- for comparison: StreamKeeper as it was, with the replay guard apart from the publish -------


def two_round_trips():  # type: ignore[no-untyped-def]
    """The real app (``create_app`` with the real Runtime), except that the webhook's message id
    is checked by the replay guard's own ``SET NX`` before the publish, as before the Redis bus
    learned ``publish_delivery``: two Redis round trips per webhook instead of one."""
    from core.runtime import Runtime
    from core.web.app import create_app

    runtime = Runtime.from_environment(env_file=None)
    runtime.migrate()
    runtime.kick_receiver.publish_delivery = None
    return create_app(runtime.web_services())
