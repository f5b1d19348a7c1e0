"""Webhook endpoints. Each answers as soon as the event is durably queued."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from core.web.services import services

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/kick")
def kick():  # type: ignore[no-untyped-def]
    receipt = services().kick_receiver.receive(request.headers, request.get_data(cache=False))
    return jsonify(receipt.as_json()), receipt.status


@bp.post("/twitch")
def twitch():  # type: ignore[no-untyped-def]
    receipt = services().twitch_receiver.receive(request.headers, request.get_data(cache=False))
    if receipt.challenge is not None:
        # Twitch wants the challenge back as it is: no JSON, no quotes.
        return Response(receipt.challenge, status=200, mimetype="text/plain")
    return jsonify(receipt.as_json()), receipt.status
