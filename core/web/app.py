"""The Flask application factory. Views translate HTTP to service calls and back; no SQL here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from core.events import Event
from core.features.refusals import Refused
from core.health import HealthReport
from core.metrics import Metrics
from core.platforms.kick.receiver import KickWebhookReceiver
from core.platforms.kick.webhook import MAX_BODY_BYTES
from core.platforms.twitch.receiver import TwitchWebhookReceiver
from core.services import FeatureServices
from core.web.dashboard.config import DashboardConfig
from core.web.setup import SetupConfig
from core.web.templates import share_compiled_templates

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class WebServices(FeatureServices):
    """What the web app is built with: the feature services it inherits (the sign-in pages use
    ``kick_connections``, ``twitch_connections`` and ``linking``), the webhooks' receivers, and
    the dashboard's and setup page's own configurations."""

    kick_receiver: KickWebhookReceiver
    twitch_receiver: TwitchWebhookReceiver
    health: Callable[[], HealthReport]
    metrics: Metrics
    publish: Callable[[Event], object]  # the bus's publish: tells the bot about link attempts
    link_secret: str = field(repr=False)
    clock: Callable[[], datetime]
    dashboard: DashboardConfig | None = None  # the web dashboard (core/web/dashboard/)
    # Reverse proxies in front whose X-Forwarded-For / -Proto are believed (0: none).
    trusted_proxy_count: int = 0
    # /metrics wants "Authorization: Bearer <it>" when set.
    metrics_token: str | None = field(default=None, repr=False)
    setup: SetupConfig | None = None  # the operator's first-run page (core/web/setup/)


def create_app(services: WebServices) -> Flask:
    """Build the web app from what the composition root built (``core/wsgi.py`` is the WSGI
    servers' factory, which builds them from the environment)."""
    from core.web import health, webhooks
    from core.web.connections import kick, twitch
    from core.web.headers import add_security_headers

    app = Flask(__name__)
    share_compiled_templates(app)
    # Werkzeug answers 413 itself for bodies over this, before a view reads them.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["streamkeeper"] = services
    if services.dashboard is not None:
        from core.web.dashboard import register

        register(app, services.dashboard)  # its landing page is "/"
        from core.web import overlays

        overlays.register(app, services.dashboard.overlays)  # /overlay/<token>, on its live hub
        if services.setup is not None:  # drawn with the dashboard's templates and stylesheet
            from core.web import setup

            setup.register(app, services.setup)
    app.register_blueprint(health.bp)
    app.register_blueprint(kick.bp)
    app.register_blueprint(twitch.bp)
    app.after_request(add_security_headers)
    # The webhooks are answered before Flask sees the request (core/web/webhooks.py).
    app.wsgi_app = webhooks.WebhookRoutes(app.wsgi_app, services)  # type: ignore[method-assign]
    if services.trusted_proxy_count:
        # The client's address (login rate limits, logs) from the proxies' X-Forwarded-For, as
        # many hops deep as there are proxies we run; a header a client typed is never believed
        # beyond them, and without the setting it is not read at all.
        count = services.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]

    answer_errors(app)
    return app


def answer_errors(app: Flask) -> None:
    """A refusal, an HTTP error and anything unexpected answered as JSON (no trace), or, to a
    browser or on the dashboard, as a page in plain words (core/web/dashboard/error_pages.py)."""

    def page(error: HTTPException, message: str | None = None):  # type: ignore[no-untyped-def]
        if "dashboard" not in app.extensions:
            return None
        from core.web.dashboard import BLUEPRINTS
        from core.web.dashboard.error_pages import NEVER_A_PAGE, http_error_page, wants_page

        if request.path.startswith(NEVER_A_PAGE):  # OBS: never an opaque page over the stream
            from core.web.overlays import missing_page

            return missing_page(error)
        return http_error_page(error, message) if wants_page(BLUEPRINTS) else None

    @app.errorhandler(Refused)
    def refused(refusal: Refused):  # type: ignore[no-untyped-def]
        # A service said no: the same words the Discord command would say, for the form to show.
        shown = page(BadRequest(), str(refusal))
        return shown if shown is not None else (jsonify(status="refused", detail=str(refusal)), 400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        shown = page(error)
        if shown is not None:
            return shown
        answer = jsonify(status="error", detail=error.description)
        answer.status_code = error.code or 500
        for name, value in error.get_headers():  # a 405's Allow
            if name.lower() != "content-type":
                answer.headers[name] = value
        return answer

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error in a web request")
        shown = page(InternalServerError())
        return (
            shown if shown is not None else (jsonify(status="error", detail="internal error"), 500)
        )
