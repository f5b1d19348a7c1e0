"""Operational endpoints: ``/health`` (JSON) and ``/metrics`` (Prometheus text).

Served by the web app and by a bot process's own (core/web/ops.py); both build it with what
:class:`Endpoints` names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from flask import Blueprint, Response, current_app, jsonify, request

from core.health import HealthReport
from core.metrics import CONTENT_TYPE, Metrics
from core.security.compare import same_secret

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


class Endpoints(Protocol):
    @property
    def health(self) -> Callable[[], HealthReport]: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def metrics_token(self) -> str | None: ...


def services() -> Endpoints:
    return current_app.extensions["streamkeeper"]


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
        if scheme.lower() != "bearer" or not same_secret(token, credentials.strip()):
            answer = jsonify(status="error", detail="a bearer token is needed (METRICS_TOKEN)")
            answer.status_code = 401
            answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return answer
    return Response(services().metrics.render(), content_type=CONTENT_TYPE)
