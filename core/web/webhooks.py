"""Webhook endpoints. Each answers as soon as the event is durably queued."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from core.web.services import services

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/kick")
def kick():  # type: ignore[no-untyped-def]
    receipt = services().kick_receiver.receive(request.headers, request.get_data(cache=False))
    return jsonify(receipt.as_json()), receipt.status
