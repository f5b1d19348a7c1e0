"""Operational endpoints: ``/health`` (JSON) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

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
    return Response(services().metrics.render(), content_type=CONTENT_TYPE)
