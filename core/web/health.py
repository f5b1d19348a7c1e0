"""Operational endpoints: ``/health`` (JSON) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from core.metrics import CONTENT_TYPE
from core.web.services import services

bp = Blueprint("health", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return jsonify(name="StreamKeeper", health="/health", metrics="/metrics")


@bp.get("/health")
def health():  # type: ignore[no-untyped-def]
    report = services().health()
    return jsonify(report.as_json()), 200 if report.ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    return Response(services().metrics.render(), content_type=CONTENT_TYPE)
