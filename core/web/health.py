"""Operational endpoints: ``/health`` (JSON) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, jsonify, request

from core.metrics import CONTENT_TYPE
from core.web.services import services

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/health")
def health():  # type: ignore[no-untyped-def]
    report = services().health()
    for check in report.failures:  # the details stay here; the answer names only the check
        log.warning("health: %s failing: %s", check.name, check.detail)
    return jsonify(report.as_json()), 200 if report.ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    token = services().metrics_token
    if token is not None:
        sent = request.headers.get("Authorization", "")
        scheme, _, credentials = sent.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode("utf-8", "surrogatepass"), token.encode()
        ):
            answer = jsonify(status="error", detail="a bearer token is needed (METRICS_TOKEN)")
            answer.status_code = 401
            answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return answer
    return Response(services().metrics.render(), content_type=CONTENT_TYPE)
