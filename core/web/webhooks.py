"""Webhook endpoints. Each answers as soon as the event is durably queued.

They are the web side's hottest path (every chat message of every tracked channel), so a few
lines of WSGI in front of Flask answer them (:class:`WebhookRoutes`). Flask's request and app
contexts, session, routing and response object cost 0.5 ms of the 1.2 ms a webhook took in
one thread (`python -m benchmarks --only embedded`), and a webhook uses none of them. A client
sees what Flask would answer: JSON (Twitch's challenge as plain text), the security headers
every answer carries, 405 for another method (with no body for HEAD), 413 for a body over 1 MiB,
and a logged 500 for an unexpected error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wsgi import get_input_stream

from core.platforms.kick.webhook import MAX_BODY_BYTES
from core.web.headers import API_HEADERS

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from core.platforms.webhook_answers import Receipt
    from core.web.app import WebServices

log = logging.getLogger(__name__)

Answer = tuple[int, str, bytes]
_JSON = "application/json"


class _Receiver(Protocol):
    """What both platforms' receivers offer."""

    def receive(self, headers: Mapping[str, str], body: bytes) -> Receipt: ...


class WebhookRoutes:
    """``POST /webhooks/kick`` and ``POST /webhooks/twitch``; any other path goes to ``app``."""

    def __init__(self, app: WSGIApplication, services: WebServices) -> None:
        self.app = app
        self.receivers: dict[str, _Receiver] = {
            "/webhooks/kick": services.kick_receiver,
            "/webhooks/twitch": services.twitch_receiver,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        receiver = self.receivers.get(environ.get("PATH_INFO", ""))
        if receiver is None:
            return self.app(environ, start_response)
        extra: list[tuple[str, str]] = []
        try:
            status, content_type, body = _answer(receiver, environ)
        except HTTPException as error:  # what Flask's handler answers for these (core/web/app.py)
            status, content_type, body = _error(error.code or 500, error.description or "")
            if isinstance(error, MethodNotAllowed):
                extra.append(("Allow", "POST"))
        except Exception:
            log.exception("unhandled error in a web request")
            status, content_type, body = _error(500, "internal error")
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *extra,
            *API_HEADERS,
        ]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            # The headers GET would get, no body: bytes after a HEAD's headers would be read as
            # the next response on a kept-alive connection (Flask's responses do the same).
            return []
        return [body]


def _answer(receiver: _Receiver, environ: WSGIEnvironment) -> Answer:
    if environ.get("REQUEST_METHOD") != "POST":
        raise MethodNotAllowed(valid_methods=["POST"])
    # Raises 413 when Content-Length is over the limit, as Flask's MAX_CONTENT_LENGTH does.
    body = get_input_stream(environ, max_content_length=MAX_BODY_BYTES).read()
    receipt = receiver.receive(EnvironHeaders(environ), body)
    if receipt.challenge is not None:
        # Twitch wants the challenge back as it is: no JSON, no quotes.
        return 200, "text/plain; charset=utf-8", receipt.challenge.encode()
    return receipt.status, _JSON, _json(receipt.as_json())


def _error(status: int, detail: str) -> Answer:
    return status, _JSON, _json({"status": "error", "detail": detail})


def _json(value: Mapping[str, str]) -> bytes:
    # As Flask's jsonify writes it: compact, keys sorted, a newline at the end.
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode() + b"\n"
