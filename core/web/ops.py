"""A bot process's own web app: ``/health`` and ``/metrics`` and nothing else.

``python -m core bot`` serves no webhooks and no pages, but it is where events are handled and
outside calls made, so its counters (``streamkeeper_events_handled_total``,
``streamkeeper_outbox_calls_total``, ...) and its health (Discord connected, its pipeline's
checks) live in it. With ``BOT_METRICS_PORT`` set it serves them at ``HOST``, for a scraper and a
container's health probe, with the same answers (and ``METRICS_TOKEN``) as the web side's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from core.health import HealthReport
from core.metrics import Metrics

# A scrape and a probe at a time, with room for one slow answer: nothing else is served here.
OPS_THREADS = 2


@dataclass(frozen=True)
class OpsServices:
    """What ``/health`` and ``/metrics`` answer from (the web side's services have the same)."""

    health: Callable[[], HealthReport]
    metrics: Metrics
    metrics_token: str | None = field(default=None, repr=False)


def create_ops_app(services: OpsServices) -> Flask:
    from core.web import health
    from core.web.app import answer_errors
    from core.web.headers import add_security_headers

    app = Flask(__name__)
    app.extensions["streamkeeper"] = services
    app.register_blueprint(health.bp)
    app.after_request(add_security_headers)
    answer_errors(app)
    return app
